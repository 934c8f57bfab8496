"""Tests for benchmarks/boot.py: percentile/summary maths and the HTTP flow
against an in-process fake Compute API (httpx.MockTransport)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import httpx
import pytest

BOOT_PY = Path(__file__).resolve().parents[2] / "benchmarks" / "boot.py"


def _load():
    spec = importlib.util.spec_from_file_location("novaflow_bench_boot", BOOT_PY)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


boot = _load()


def test_percentile_known_values():
    values = list(range(1, 101))  # 1..100
    assert boot.percentile(values, 50) == pytest.approx(50.5)
    assert boot.percentile(values, 95) == pytest.approx(95.05)
    assert boot.percentile(values, 0) == 1
    assert boot.percentile(values, 100) == 100


def test_percentile_small_and_unsorted():
    assert boot.percentile([30.0, 10.0, 20.0], 50) == 20.0
    assert boot.percentile([10.0, 20.0], 50) == 15.0
    assert boot.percentile([10.0, 20.0, 30.0, 40.0], 95) == pytest.approx(38.5)
    assert boot.percentile([7.0], 95) == 7.0
    assert boot.percentile([], 50) is None
    with pytest.raises(ValueError):
        boot.percentile([1.0], 101)


def test_summary_known_numbers():
    latencies = [100.0, 200.0, 300.0, 400.0, 500.0]
    summary = boot.summarize(latencies, servers=6, concurrency=2, errors=1, wall_s=2.0)
    assert summary == {
        "servers": 6,
        "concurrency": 2,
        "ok": 5,
        "errors": 1,
        "p50_ms": 300.0,
        "p95_ms": 480.0,
        "boots_per_s": 2.5,
        "wall_s": 2.0,
    }
    json.dumps(summary)  # serialisable as the single output line


def test_summary_without_successes():
    summary = boot.summarize([], servers=3, concurrency=3, errors=3, wall_s=0.0)
    assert summary["ok"] == 0
    assert summary["p50_ms"] is None and summary["p95_ms"] is None
    assert summary["boots_per_s"] == 0.0


def test_parse_args_defaults():
    args = boot.parse_args(["--servers", "4", "--concurrency", "2"])
    assert args.api == "http://127.0.0.1:8774"
    assert args.token is None and args.cloud == "novaflow"
    assert args.flavor == "1"
    assert args.timeout == 300.0
    with pytest.raises(SystemExit):
        boot.parse_args(["--servers", "0", "--concurrency", "1"])


class FakeComputeAPI:
    """Glance/Neutron lists plus servers that go BUILD -> ACTIVE (or ERROR)
    after a few polls, and disappear a couple of polls after DELETE."""

    def __init__(self, fail_names: tuple[str, ...] = ()):
        self.fail_names = fail_names
        self.servers: dict[str, dict] = {}
        self.in_flight = 0
        self.max_in_flight = 0
        self.posts: list[dict] = []
        self.tokens: set[str] = set()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.tokens.add(request.headers.get("X-Auth-Token", ""))
        path = request.url.path
        if path == "/image/v2/images":
            return httpx.Response(
                200,
                json={
                    "images": [{"id": "img-x", "name": "other"}, {"id": "img-c", "name": "cirros"}]
                },
            )
        if path == "/networking/v2.0/networks":
            return httpx.Response(200, json={"networks": [{"id": "net-p", "name": "private"}]})
        if path == "/v2.1/servers" and request.method == "POST":
            body = json.loads(request.content)["server"]
            self.posts.append(body)
            sid = f"srv-{len(self.servers)}"
            status = "ERROR" if body["name"].endswith(self.fail_names) else "ACTIVE"
            self.servers[sid] = {"polls": 0, "final": status, "deleted_polls": None}
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            return httpx.Response(202, json={"server": {"id": sid}})
        if path.startswith("/v2.1/servers/"):
            sid = path.rsplit("/", 1)[1]
            srv = self.servers.get(sid)
            if srv is None:
                return httpx.Response(404, json={"itemNotFound": {"code": 404}})
            if request.method == "DELETE":
                srv["deleted_polls"] = 0
                return httpx.Response(204)
            if srv["deleted_polls"] is not None:
                srv["deleted_polls"] += 1
                if srv["deleted_polls"] >= 2:
                    del self.servers[sid]
                    return httpx.Response(404, json={"itemNotFound": {"code": 404}})
                return httpx.Response(200, json={"server": {"id": sid, "status": "ACTIVE"}})
            srv["polls"] += 1
            status = srv["final"] if srv["polls"] >= 3 else "BUILD"
            if status != "BUILD" and not srv.get("done"):
                srv["done"] = True
                self.in_flight -= 1
            body = {"id": sid, "status": status}
            if status == "ERROR":
                body["fault"] = {"message": "No valid host was found."}
            return httpx.Response(200, json={"server": body})
        return httpx.Response(404)


async def test_run_against_fake_api(capsys):
    api = FakeComputeAPI()
    args = boot.parse_args(
        ["--servers", "6", "--concurrency", "2", "--api", "http://fake:8774/", "--timeout", "10",
         "--token", "tok-123", "--image-api", "http://fake/image"]
    )
    rc = await boot.run(args, transport=httpx.MockTransport(api))
    out = capsys.readouterr().out.strip().splitlines()
    assert rc == 0
    assert len(out) == 1
    result = json.loads(out[0])
    assert result["servers"] == 6 and result["concurrency"] == 2
    assert result["ok"] == 6 and result["errors"] == 0
    assert result["p50_ms"] > 0 and result["p95_ms"] >= result["p50_ms"]
    assert result["boots_per_s"] > 0 and result["wall_s"] > 0
    assert api.max_in_flight <= 2
    assert api.servers == {}, "every server must be deleted and gone (404)"
    assert api.tokens == {"tok-123"}
    assert all(
        p["imageRef"] == "img-c" and p["networks"] == [{"uuid": "net-p"}] and p["flavorRef"] == "1"
        for p in api.posts
    )


async def test_run_reports_errors_and_exits_nonzero(capsys):
    api = FakeComputeAPI(fail_names=("0001",))
    args = boot.parse_args(["--servers", "3", "--concurrency", "3", "--api", "http://fake",
                            "--token", "tok-123", "--image-api", "http://fake/image"])
    rc = await boot.run(args, transport=httpx.MockTransport(api))
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert rc == 1
    assert result["ok"] == 2 and result["errors"] == 1
    assert "No valid host" in captured.err
    assert api.servers == {}, "the errored server is cleaned up too"


async def test_run_missing_image_fails_setup(capsys):
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"images": [], "networks": []})

    args = boot.parse_args(["--servers", "1", "--concurrency", "1", "--api", "http://fake",
                            "--token", "tok-123", "--image-api", "http://fake/image"])
    rc = await boot.run(args, transport=httpx.MockTransport(handler))
    assert rc == 2
    assert "cirros" in capsys.readouterr().err


def _load_profile():
    sys.path.insert(0, str(BOOT_PY.parent))
    import boot_profile

    return boot_profile


def test_profile_cuts_a_recorded_boot_into_its_steps():
    """benchmarks/boot_profile.py on a real boot's history (one rescheduled
    after a failed spawn): the segments are in time order, cover the run from
    start to completion, and name its local activities and host steps."""
    from temporalio.client import WorkflowHistory

    profile = _load_profile()
    path = BOOT_PY.parents[1] / "tests/replay/histories/boot_rescheduled_after_spawn_failure.json"
    history = WorkflowHistory.from_json("boot", json.loads(path.read_text()))
    events = list(history.events)
    segments = profile.segments(events)
    names = [name for name, _ in segments]
    assert names[0] == "queue:first_task" and names[-1] == "workflow_close"
    for step in ("la:check_token", "la:get_flavor", "la:select_destinations",
                 "la:claim_resources", "la:allocate_network", "la:mark_active",
                 "host:spawn", "queue:spawn"):
        assert step in names, names
    assert names.count("host:spawn") == 2  # the failed attempt and the retried one
    assert all(ms >= 0 for _, ms in segments)
    run_ms = (profile._ts(events[-1]) - profile._ts(events[0])) * 1000
    assert sum(ms for _, ms in segments) == pytest.approx(run_ms, abs=0.01)


def test_profile_summary_takes_each_segments_median():
    profile = _load_profile()
    out = profile.summarize([[("a", 1.0), ("b", 10.0), ("a", 1.0)],
                             [("a", 4.0), ("b", 20.0)],
                             [("b", 30.0)]])
    assert out["workflows"] == 3
    assert out["segments_p50_ms"] == {"b": 20.0, "a": 2.0}
    assert out["workflow_p50_ms"] == 24.0
