"""Hostile input: a user's regular expression cannot stall the API, and bad
input answers Nova's 400 (or 413), never a 500."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from api_support import assert_nova_error, boot, delete_all

EVIL = "^(a+)+$"  # catastrophic backtracking for Python's re on "aaa...a!"


def test_a_backtracking_name_filter_answers_fast_while_others_are_served(demo, catalog_ids):
    sid = boot(demo, catalog_ids, "a" * 30 + "!")
    try:
        def timed(path: str, params: dict | None = None):
            started = time.monotonic()
            resp = demo.get(path, params=params)
            return resp, time.monotonic() - started

        with ThreadPoolExecutor(2) as pool:
            evil = pool.submit(timed, "/v2.1/servers", {"name": EVIL})
            other = pool.submit(timed, "/v2.1/flavors")
            (evil_resp, evil_s), (other_resp, other_s) = evil.result(), other.result()
        assert evil_resp.status_code == 200, evil_resp.text
        assert evil_resp.json()["servers"] == []  # the '!' keeps it from matching
        assert evil_s < 1.0 and other_s < 1.0, (evil_s, other_s)
        assert other_resp.status_code == 200
        hit = demo.get("/v2.1/servers", params={"name": "^a{30}!$"}).json()["servers"]
        assert [s["id"] for s in hit] == [sid]
    finally:
        delete_all(demo, [sid])


def test_a_regex_re2_cannot_run_is_refused(demo):
    for key in ("name", "ip", "ip6"):
        assert_nova_error(demo.get("/v2.1/servers", params={key: r"(a)\1"}), 400,
                          "badRequest", f"Invalid filter field: {key}.")
    assert_nova_error(demo.get("/v2.1/servers/detail", params={"name": "(?=x)"}), 400,
                      "badRequest")
