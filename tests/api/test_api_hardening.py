"""Hostile input: a user's regular expression cannot stall the API, and bad
input answers Nova's 400 (or 413), never a 500."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
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


BIG = "9" * 30
SERVER = '"name": "ok", "flavorRef": "1", "imageRef": "%s", "networks": [{"uuid": "%s"}]'
JSON = {"Content-Type": "application/json"}


def _server_body(ids: dict, **raw: str) -> bytes:
    """A POST /servers body with some values given as raw JSON text."""
    fields = SERVER % (ids["image"], ids["network"])
    for key, text in raw.items():
        fields += f', "{key}": {text}'
    return ("{\"server\": {" + fields + "}}").encode()


@pytest.mark.parametrize("case", [
    "lone surrogate name", "min_count Infinity", "min_count NaN", "50000 nested [",
    "minRam 30 digits", "offset 30 digits", "limit 30 digits", "marker 30 digits",
    "legacy microversion 5000 digits", "microversion 5000 digits", "volume size 1e30",
    "quota 10**30", "quota 1e400", "quota Infinity", "flavor ram 10**30",
    "flavor ram 1e400", "flavor vcpus Infinity", "hypervisor id 30 digits",
    "service id 30 digits", "metadata []",
    "scheduler hints []", "garbage same_host", "quota 1.5", "subnet with host bits",
    "long network name", "flavor swap -1", "user_data as a number",
])
def test_bad_input_answers_400_never_500(demo, admin, catalog_ids, case):
    ids = catalog_ids
    flavor = '{"flavor": {"name": "hostile", "ram": %s, "vcpus": %s, "disk": 1}}'
    requests = {
        "lone surrogate name": (demo, "post", "/v2.1/servers",
                                {"content": _server_body(ids).replace(b'"ok"', b'"\\ud800"')}),
        "min_count Infinity": (demo, "post", "/v2.1/servers",
                               {"content": _server_body(ids, min_count="Infinity")}),
        "min_count NaN": (demo, "post", "/v2.1/servers",
                          {"content": _server_body(ids, min_count="NaN")}),
        "50000 nested [": (demo, "post", "/v2.1/servers", {"content": b"[" * 50000}),
        "minRam 30 digits": (demo, "get", f"/v2.1/flavors?minRam={BIG}", {}),
        "offset 30 digits": (demo, "get", f"/v2.1/os-server-groups?offset={BIG}", {}),
        "limit 30 digits": (demo, "get", f"/v2.1/servers?limit={BIG}", {}),
        "marker 30 digits": (demo, "get", f"/v2.1/flavors?marker={BIG}", {}),
        "legacy microversion 5000 digits": (
            demo, "get", "/v2.1/servers",
            {"headers": {"X-OpenStack-Nova-API-Version": "2." + "1" * 5000}}),
        "microversion 5000 digits": (
            demo, "get", "/v2.1/servers",
            {"headers": {"OpenStack-API-Version": "compute 2." + "1" * 5000}}),
        "volume size 1e30": (demo, "post", "/volume/v3/demo/volumes",
                             {"content": b'{"volume": {"size": 1e30}}'}),
        "quota 10**30": (admin, "put", "/v2.1/os-quota-sets/hostile",
                         {"content": b'{"quota_set": {"instances": 1%s}}' % (b"0" * 30)}),
        "quota 1e400": (admin, "put", "/v2.1/os-quota-sets/hostile",
                        {"content": b'{"quota_set": {"cores": 1e400}}'}),
        "quota Infinity": (admin, "put", "/v2.1/os-quota-sets/hostile",
                           {"content": b'{"quota_set": {"ram": Infinity}}'}),
        "flavor ram 10**30": (admin, "post", "/v2.1/flavors",
                              {"content": (flavor % ("1" + "0" * 30, "1")).encode()}),
        "flavor ram 1e400": (admin, "post", "/v2.1/flavors",
                             {"content": (flavor % ("1e400", "1")).encode()}),
        "flavor vcpus Infinity": (admin, "post", "/v2.1/flavors",
                                  {"content": (flavor % ("64", "Infinity")).encode()}),
        "hypervisor id 30 digits": (admin, "get", f"/v2.1/os-hypervisors/{BIG}", {}),
        "service id 30 digits": (admin, "delete", f"/v2.1/os-services/{BIG}", {}),
        "metadata []": (demo, "post", "/v2.1/servers",
                        {"content": _server_body(ids, metadata="[]")}),
        "scheduler hints []": (demo, "post", "/v2.1/servers", {"json": {
            "server": json.loads(_server_body(ids))["server"], "os:scheduler_hints": []}}),
        "garbage same_host": (demo, "post", "/v2.1/servers", {"json": {
            "server": json.loads(_server_body(ids))["server"],
            "os:scheduler_hints": {"same_host": "'; DROP TABLE instances; --"}}}),
        "quota 1.5": (admin, "put", "/v2.1/os-quota-sets/hostile",
                      {"json": {"quota_set": {"instances": 1.5}}}),
        "subnet with host bits": (admin, "post", "/networking/v2.0/subnets", {"json": {
            "subnet": {"network_id": ids["network"], "cidr": "10.77.0.5/24"}}}),
        "long network name": (admin, "post", "/networking/v2.0/networks",
                              {"json": {"network": {"name": "n" * 256}}}),
        "flavor swap -1": (admin, "post", "/v2.1/flavors", {"json": {"flavor": {
            "name": "hostile", "ram": 64, "vcpus": 1, "disk": 1, "swap": -1}}}),
        "user_data as a number": (demo, "post", "/v2.1/servers",
                                  {"content": _server_body(ids, user_data="12")}),
    }
    client, method, path, kwargs = requests[case]
    if "content" in kwargs:
        kwargs = {**kwargs, "headers": {**JSON, **kwargs.get("headers", {})}}
    assert_nova_error(client.request(method, path, **kwargs), 400, "badRequest")


def test_a_quota_of_one_and_a_half_is_not_stored(admin):
    path = "/v2.1/os-quota-sets/half-quota"  # a project no other test touches
    assert admin.put(path, json={"quota_set": {"instances": 7}}).status_code == 200
    assert_nova_error(admin.put(path, json={"quota_set": {"instances": 1.5}}), 400,
                      "badRequest", "instances")
    assert admin.get(path).json()["quota_set"]["instances"] == 7  # not truncated to 1
    admin.delete(path)


@pytest.mark.parametrize("path", ["/v2.1/servers", "/networking/v2.0/networks"])
def test_a_body_over_the_size_limit_is_413(admin, path):
    big = {"network": {"name": "n" * 1_000_000}}  # 1 MB, past Nova's 114688 bytes
    resp = admin.post(path, json=big)
    assert_nova_error(resp, 413, "overLimit", "max_request_body_size")
    # Streamed without a Content-Length, the limit holds while reading.
    chunks = (b'{"network": {"name": "' if i == 0 else b"n" * 65536 for i in range(4))
    resp = admin.post(path, content=chunks, headers=JSON)
    assert_nova_error(resp, 413, "overLimit")


def test_a_body_just_under_the_limit_is_still_parsed(demo):
    pad = "x" * (114688 - 200)
    resp = demo.post("/v2.1/servers", json={"server": {"name": "n", "padding": pad}})
    assert_nova_error(resp, 400, "badRequest", "'padding' was unexpected")


def test_an_unterminated_string_of_escaped_quotes_is_refused_fast(demo):
    # A quote followed by 38,000 escaped quotes and no closing one: a
    # regex-based scan of the body rescanned it from every quote (minutes).
    started = time.monotonic()
    resp = demo.post("/v2.1/servers", content=b'"' + b'\\"' * 38000, headers=JSON)
    assert_nova_error(resp, 400, "badRequest", "Malformed request body")
    assert time.monotonic() - started < 1.0
