"""End-to-end boot benchmark against a running novaflow API.

Boots ``--servers`` servers through the OpenStack Compute API v2.1 with at
most ``--concurrency`` boots in flight, measures each server's latency from
``POST /v2.1/servers`` to the first poll that reports ``ACTIVE``, then deletes
every server it created and waits for each to return 404.

    python benchmarks/boot.py --servers 50 --concurrency 10 \\
        --api http://127.0.0.1:8774 --cloud novaflow --flavor 1

The token is a Keystone token: ``--token``, or one got by logging in as the
clouds.yaml cloud ``--cloud`` (``OS_CLIENT_CONFIG_FILE``, as ``novaflow up``
prints).

Before booting it resolves the image named ``cirros`` through Glance at
``{image_api}/v2/images`` (``--image-api``, default: the image endpoint of
``--cloud``'s catalog) and the network named
``private`` through the networking (Neutron-shaped) API at
``{api}/networking/v2.0/networks``. Every request carries ``X-Auth-Token``.

It prints one JSON line on stdout::

    {"servers": 50, "concurrency": 10, "ok": 50, "errors": 0, "p50_ms": ...,
     "p95_ms": ..., "boots_per_s": ..., "wall_s": ...}

``wall_s`` is the wall time of the boot phase (first POST to the last server
reaching ACTIVE, ERROR or its deadline); ``boots_per_s`` is ``ok / wall_s``.
Latency percentiles cover successful boots only. Diagnostics go to stderr.
The exit status is 0 only if every server became ACTIVE and was deleted again.

``--floor`` (needs ``--temporal-address``, default 127.0.0.1:7233) first runs
as many no-op workflows of a boot's shape (benchmarks/noop_floor.py: 8 local
activities and one host-queue activity), at the same concurrency, on the same
Temporal server, and adds ``floor_p50_ms``, ``floor_p95_ms``,
``floor_per_s``, ``throughput_ratio`` (boots/s over floor/s) and
``p50_ratio`` (boot p50 over floor p50).

``--profile`` adds ``profile``: the median of each segment of the boots'
workflow histories (benchmarks/boot_profile.py), the POST's own p50 and the
p50 lag from a workflow's completion to the poll that saw ACTIVE.
``--cpu-of PID`` (``novaflow up``'s pid) adds ``cpu_ms_per_boot``: the CPU
time each process of that stack used during the boot phase, per boot.  The
floor's latency is start to result; a boot's is POST to the first poll that sees ACTIVE, so it also
carries up to one ``--poll-ms`` interval.
"""

import argparse
import asyncio
import json
import math
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

DEFAULT_API = "http://127.0.0.1:8774"
POLL_INTERVAL_S = 0.05  # --poll-ms changes it


# --------------------------------------------------------------------------
# pure helpers (unit-tested)
# --------------------------------------------------------------------------


def percentile(values: Sequence[float], pct: float) -> float | None:
    """Return the ``pct``-th percentile (0..100) of ``values``.

    Linear interpolation between closest ranks, the same definition as
    ``numpy.percentile``'s default: rank ``(n - 1) * pct / 100``. Returns
    ``None`` for an empty sequence.
    """
    if not 0 <= pct <= 100:
        raise ValueError(f"percentile must be within 0..100, got {pct}")
    data = sorted(values)
    if not data:
        return None
    rank = (len(data) - 1) * pct / 100.0
    lo = math.floor(rank)
    hi = math.ceil(rank)
    if lo == hi:
        return float(data[lo])
    frac = rank - lo
    return data[lo] + (data[hi] - data[lo]) * frac


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def summarize(
    latencies_ms: Sequence[float],
    *,
    servers: int,
    concurrency: int,
    errors: int,
    wall_s: float,
) -> dict:
    """Build the benchmark's result record.

    ``latencies_ms`` holds the POST→ACTIVE latency of every successful boot;
    ``errors`` counts the servers that failed (ERROR, API error or timeout);
    ``wall_s`` is the wall time of the boot phase.
    """
    ok = len(latencies_ms)
    boots_per_s = ok / wall_s if wall_s > 0 else 0.0
    return {
        "servers": servers,
        "concurrency": concurrency,
        "ok": ok,
        "errors": errors,
        "p50_ms": _round(percentile(latencies_ms, 50), 1),
        "p95_ms": _round(percentile(latencies_ms, 95), 1),
        "boots_per_s": round(boots_per_s, 3),
        "wall_s": round(wall_s, 3),
    }


# --------------------------------------------------------------------------
# HTTP side
# --------------------------------------------------------------------------


class BenchmarkError(Exception):
    """A setup step (image/network lookup) failed; nothing was booted."""


@dataclass
class BootResult:
    """Outcome of one server boot."""

    index: int
    server_id: str | None = None
    latency_ms: float | None = None
    error: str | None = None
    post_ms: float | None = None  # the POST /servers request alone
    active_at: float | None = None  # epoch seconds of the poll that saw ACTIVE


@dataclass
class RunState:
    """Servers created so far, so cleanup can find them even after a crash."""

    created: list[str] = field(default_factory=list)


def _describe(resp: httpx.Response) -> str:
    body = resp.text.strip().replace("\n", " ")
    return f"HTTP {resp.status_code}: {body[:300]}"


async def find_by_name(client: httpx.AsyncClient, url: str, key: str, name: str) -> str:
    """GET a Glance/Neutron-shaped list (``{key: [{"id", "name"}, ...]}``) and
    return the id of the first item called ``name``."""
    resp = await client.get(url)
    if resp.status_code != 200:
        raise BenchmarkError(f"GET {url} failed: {_describe(resp)}")
    items = resp.json().get(key, [])
    for item in items:
        if item.get("name") == name:
            return item["id"]
    names = sorted(str(item.get("name")) for item in items)
    raise BenchmarkError(f"no {key[:-1]} named {name!r} at {url} (found: {names})")


async def boot_one(
    client: httpx.AsyncClient,
    sem: asyncio.Semaphore,
    state: RunState,
    *,
    api: str,
    index: int,
    name: str,
    flavor: str,
    image_id: str,
    network_id: str,
    timeout_s: float,
) -> BootResult:
    """Boot one server and poll it until ACTIVE, ERROR or its deadline.

    Never raises for API misbehaviour: any unexpected reply is recorded as
    the server's error (a created server is still registered for cleanup).
    """
    result = BootResult(index=index)
    try:
        await _boot(
            client,
            sem,
            state,
            result,
            api=api,
            name=name,
            flavor=flavor,
            image_id=image_id,
            network_id=network_id,
            timeout_s=timeout_s,
        )
    except Exception as exc:
        result.latency_ms = None
        result.error = f"{result.server_id or 'POST /servers'}: unexpected {exc!r}"
    return result


async def _boot(
    client: httpx.AsyncClient,
    sem: asyncio.Semaphore,
    state: RunState,
    result: BootResult,
    *,
    api: str,
    name: str,
    flavor: str,
    image_id: str,
    network_id: str,
    timeout_s: float,
) -> None:
    """POST the server, then poll it every ~50 ms; fills in ``result``."""
    body = {
        "server": {
            "name": name,
            "flavorRef": flavor,
            "imageRef": image_id,
            "networks": [{"uuid": network_id}],
        }
    }
    async with sem:
        start = time.perf_counter()
        deadline = start + timeout_s
        try:
            resp = await client.post(f"{api}/v2.1/servers", json=body)
        except httpx.HTTPError as exc:
            result.error = f"POST /servers: {exc!r}"
            return
        result.post_ms = (time.perf_counter() - start) * 1000.0
        if resp.status_code != 202:
            result.error = f"POST /servers: {_describe(resp)}"
            return
        server_id = resp.json()["server"]["id"]
        result.server_id = server_id
        state.created.append(server_id)

        url = f"{api}/v2.1/servers/{server_id}"
        last = "no successful poll"
        while True:
            try:
                resp = await client.get(url)
            except httpx.HTTPError as exc:  # transient: keep polling until the deadline
                last = f"GET: {exc!r}"
            else:
                if resp.status_code == 200:
                    server = resp.json()["server"]
                    status = server.get("status")
                    if status == "ACTIVE":
                        result.latency_ms = (time.perf_counter() - start) * 1000.0
                        result.active_at = time.time()
                        return
                    if status == "ERROR":
                        fault = server.get("fault") or {}
                        result.error = f"{server_id} ERROR: {fault.get('message', '')}".rstrip()
                        return
                    last = f"status {status}"
                elif resp.status_code == 404:
                    result.error = f"{server_id} vanished during boot (404)"
                    return
                else:
                    last = _describe(resp)
            if time.perf_counter() >= deadline:
                result.error = f"{server_id} not ACTIVE after {timeout_s:g}s (last: {last})"
                return
            await asyncio.sleep(POLL_INTERVAL_S)


async def delete_one(
    client: httpx.AsyncClient,
    sem: asyncio.Semaphore,
    *,
    api: str,
    server_id: str,
    timeout_s: float,
) -> str | None:
    """Delete a server and wait until GET returns 404; return an error or None."""
    url = f"{api}/v2.1/servers/{server_id}"
    async with sem:
        deadline = time.perf_counter() + timeout_s
        deleted = False
        last = "no attempt"
        while True:
            try:
                if not deleted:
                    resp = await client.delete(url)
                    if resp.status_code in (202, 204, 404):
                        deleted = True
                    elif resp.status_code == 409 or resp.status_code >= 500:
                        # 409: another task still holds the instance; 5xx: transient.
                        # Either way retry the delete until the deadline.
                        last = f"DELETE {_describe(resp)}"
                    else:
                        return f"DELETE {server_id}: {_describe(resp)}"
                if deleted:
                    resp = await client.get(url)
                    if resp.status_code == 404:
                        return None
                    last = f"GET {_describe(resp)[:80]}"
            except httpx.HTTPError as exc:
                last = repr(exc)
            if time.perf_counter() >= deadline:
                return f"{server_id} not gone after {timeout_s:g}s (last: {last})"
            await asyncio.sleep(POLL_INTERVAL_S)


async def run(args: argparse.Namespace, transport: httpx.AsyncBaseTransport | None = None) -> int:
    """Run the benchmark; print the JSON line; return the exit status.

    ``transport`` replaces the network transport (tests use a mock API).
    """
    api = args.api.rstrip("/")
    global POLL_INTERVAL_S
    POLL_INTERVAL_S = getattr(args, "poll_ms", POLL_INTERVAL_S * 1000) / 1000
    floor = await floor_figures(args) if getattr(args, "floor", False) else {}
    token = args.token or cloud_token(args.cloud)
    headers = {"X-Auth-Token": token, "Accept": "application/json"}
    limits = httpx.Limits(max_connections=max(2 * args.concurrency, 10))
    state = RunState()
    cleanup_errors: list[str] = []
    async with httpx.AsyncClient(
        headers=headers, timeout=httpx.Timeout(30.0), limits=limits, transport=transport
    ) as client:
        try:
            image_api = (args.image_api or cloud_image_api(args.cloud)).rstrip("/")
            image_id = await find_by_name(client, f"{image_api}/v2/images", "images", args.image)
            network_id = await find_by_name(
                client, f"{api}/networking/v2.0/networks", "networks", args.network
            )
        except (BenchmarkError, httpx.HTTPError) as exc:
            print(f"boot benchmark: setup failed: {exc}", file=sys.stderr)
            return 2

        run_id = uuid.uuid4().hex[:8]
        sem = asyncio.Semaphore(args.concurrency)
        cpu_of = getattr(args, "cpu_of", None)
        cpu_before = stack_cpu(cpu_of) if cpu_of else {}
        try:
            start = time.perf_counter()
            results = await asyncio.gather(
                *(
                    boot_one(
                        client,
                        sem,
                        state,
                        api=api,
                        index=i,
                        name=f"bench-{run_id}-{i:04d}",
                        flavor=args.flavor,
                        image_id=image_id,
                        network_id=network_id,
                        timeout_s=args.timeout,
                    )
                    for i in range(args.servers)
                )
            )
            wall_s = time.perf_counter() - start
            cpu_after = stack_cpu(cpu_of) if cpu_of else {}
        finally:
            # Always clean up whatever was created, even on Ctrl-C or a crash.
            outcomes = await asyncio.gather(
                *(
                    delete_one(client, sem, api=api, server_id=sid, timeout_s=args.timeout)
                    for sid in list(state.created)
                ),
                return_exceptions=True,
            )
            cleanup_errors = [str(o) for o in outcomes if o is not None]

    latencies = [r.latency_ms for r in results if r.latency_ms is not None]
    errors = [r for r in results if r.error is not None]
    summary = summarize(
        latencies,
        servers=args.servers,
        concurrency=args.concurrency,
        errors=len(errors),
        wall_s=wall_s,
    )
    for r in errors[:10]:
        print(f"boot benchmark: server #{r.index}: {r.error}", file=sys.stderr)
    if len(errors) > 10:
        print(f"boot benchmark: ... and {len(errors) - 10} more errors", file=sys.stderr)
    for msg in cleanup_errors:
        print(f"boot benchmark: cleanup: {msg}", file=sys.stderr)
    if floor:
        summary = with_ratios(summary, floor)
    if cpu_of and latencies:
        summary["cpu_ms_per_boot"] = {
            name: round((cpu_after.get(name, 0.0) - cpu_before.get(name, 0.0))
                        * 1000.0 / len(latencies), 1) for name in sorted(cpu_after)}
        summary["cpu_ms_per_boot"]["all"] = round(sum(summary["cpu_ms_per_boot"].values()), 1)
    if getattr(args, "profile", False):
        summary["profile"] = await boot_profile(args.temporal_address,
                                                [r for r in results if r.latency_ms])
    print(json.dumps(summary), flush=True)
    return 1 if errors or cleanup_errors else 0


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {value}")
    return value


def cloud_token(cloud: str) -> str:
    """A token got by password login as ``cloud`` of clouds.yaml."""
    import openstack

    conn = openstack.connect(cloud=cloud)
    try:
        return conn.auth_token
    finally:
        conn.close()


def cloud_image_api(cloud: str) -> str:
    """The image service's URL in the catalog of ``cloud`` of clouds.yaml."""
    import openstack

    conn = openstack.connect(cloud=cloud)
    try:
        return conn.session.get_endpoint(service_type="image", interface="public")
    finally:
        conn.close()


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        description="Boot N servers through the novaflow Compute API and report latency."
    )
    parser.add_argument("--servers", type=_positive_int, required=True, help="servers to boot")
    parser.add_argument(
        "--concurrency", type=_positive_int, required=True, help="max boots in flight"
    )
    parser.add_argument("--api", default=DEFAULT_API, help=f"API base URL (default {DEFAULT_API})")
    parser.add_argument("--token", default=None, help="X-Auth-Token (default: log in as --cloud)")
    parser.add_argument("--image-api", default=None,
                        help="Glance's URL (default: the image endpoint of --cloud's catalog)")
    parser.add_argument("--cloud", default="novaflow",
                        help="clouds.yaml cloud to log in as (default novaflow)")
    parser.add_argument("--flavor", default="1", help="flavorRef (default 1)")
    parser.add_argument(
        "--timeout",
        type=_positive_float,
        default=300.0,
        help="per-server deadline in seconds for ACTIVE, and again for deletion (default 300)",
    )
    parser.add_argument("--image", default="cirros", help="image name (default cirros)")
    parser.add_argument("--network", default="private", help="network name (default private)")
    parser.add_argument("--floor", action="store_true",
                        help="also run a no-op workflow of a boot's shape and print the ratio")
    parser.add_argument("--temporal-address", default="127.0.0.1:7233",
                        help="Temporal frontend for --floor (default 127.0.0.1:7233)")
    parser.add_argument("--cpu-of", type=int, default=None, metavar="PID",
                        help="also print the CPU ms per boot of PID (novaflow up) and each "
                             "process under it, over the boot phase")
    parser.add_argument("--profile", action="store_true",
                        help="also print where the boots' time went (benchmarks/boot_profile.py)")
    parser.add_argument("--poll-ms", type=_positive_float, default=POLL_INTERVAL_S * 1000,
                        help="how often a booting server is polled (default 50)")
    return parser.parse_args(argv)


async def floor_figures(args: argparse.Namespace) -> dict:
    """The no-op workflow's figures from the same server, servers and concurrency."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from noop_floor import run_floor

    latencies, wall = await run_floor(args.temporal_address, args.servers, args.concurrency)
    return {"floor_p50_ms": _round(percentile(latencies, 50), 1),
            "floor_p95_ms": _round(percentile(latencies, 95), 1),
            "floor_per_s": round(len(latencies) / wall, 3) if wall > 0 else 0.0}


def stack_cpu(pid: int) -> dict[str, float]:
    """CPU seconds used so far by ``pid`` and its descendants, by process name."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from hosts import children, cpu_seconds, proc_name

    out: dict[str, float] = {}
    for child in children(pid):
        name = proc_name(child)
        out[name] = out.get(name, 0.0) + cpu_seconds(child)
    return out


async def boot_profile(address: str, booted: list[BootResult]) -> dict:
    """The boots' history profile, plus the API's share (POST /servers) and
    the lag from each workflow's completion to the poll that saw ACTIVE."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from boot_profile import profile

    ids = {f"boot-{r.server_id}": r for r in booted}
    out, closed = await profile(address, list(ids))
    lags = [(ids[wid].active_at - at) * 1000.0 for wid, at in closed.items()
            if ids[wid].active_at]
    out["post_servers_p50_ms"] = _round(percentile([r.post_ms for r in booted], 50), 1)
    out["close_to_seen_active_p50_ms"] = _round(percentile(lags, 50), 1)
    return out


def with_ratios(summary: dict, floor: dict) -> dict:
    """The summary plus the floor and the two ratios against it."""
    out = {**summary, **floor}
    if floor.get("floor_per_s"):
        out["throughput_ratio"] = round(summary["boots_per_s"] / floor["floor_per_s"], 3)
    if floor.get("floor_p50_ms") and summary.get("p50_ms") is not None:
        out["p50_ratio"] = round(summary["p50_ms"] / floor["floor_p50_ms"], 3)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: parse arguments, run, return the exit status."""
    args = parse_args(argv)
    try:
        return asyncio.run(run(args))
    except KeyboardInterrupt:
        print("boot benchmark: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
