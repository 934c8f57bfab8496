"""What real identity costs: Keystone's share of ``novaflow up`` and the
per-request price of token validation with a warm and a cold cache.

Starts ``novaflow up --hosts 1`` (its own state dir and free ports) twice on
the same state dir, a first start and a restart, and measures from outside:

- ``keystone_ready_s``: launch until Keystone answers ``GET /v3``;
- ``api_ready_s``: launch until the Compute API answers an authenticated
  ``GET /v2.1/flavors`` (the stack usable), and ``keystone_on_path``: whether
  Keystone was the last to come up (then its time is the time it adds);
- ``request_ms``: p50/p95 of ``GET /v2.1/flavors`` with a token already
  validated (``warm``: served from the API's token cache), with a token never
  seen before (``cold``: one validation round trip to Keystone, as
  keystonemiddleware's ``GET /v3/auth/tokens``), and the anchor measured in
  the same run: the unauthenticated version document ``GET /`` (the API's
  floor without any identity work) and Keystone's own ``GET /v3/auth/tokens``
  (the round trip a cold token pays).

Prints one JSON line.

    python benchmarks/identity.py [--samples 200]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
PORT_FLAGS = ("--api-port", "--temporal-port", "--ui-port", "--keystone-port", "--glance-port",
              "--codec-port", "--metadata-port", "--console-proxy-port")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answers(url: str, headers: dict | None = None) -> bool:
    try:
        return requests.get(url, headers=headers, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def token(keystone: str, state: Path, user: str = "demo",
          project: str = "demo") -> str | None:
    """A fresh project-scoped token for ``user`` (None until Keystone has it)."""
    try:
        password = json.loads((state / "passwords.json").read_text())[user]
    except (OSError, ValueError, KeyError):
        return None
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": user, "domain": {"id": "default"}, "password": password}}},
        "scope": {"project": {"name": project, "domain": {"id": "default"}}}}}
    try:
        resp = requests.post(f"{keystone}/v3/auth/tokens", json=body, timeout=10)
    except requests.RequestException:
        return None
    return resp.headers.get("X-Subject-Token") if resp.status_code == 201 else None


def start(state: Path, ports: dict[str, int], hosts: int = 1) -> subprocess.Popen:
    cmd = [sys.executable, "-c", "import sys; from workers.cli import main; main(sys.argv[1:])",
           "up", "--state-dir", str(state), "--hosts", str(hosts)]
    for flag in PORT_FLAGS:
        cmd += [flag, str(ports[flag])]
    log = open(state / "up.log", "a")
    return subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)


def listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def stop(proc: subprocess.Popen, ports: dict[str, int], deadline: float = 60.0) -> None:
    """Stop the stack and wait until none of its ports is served any more
    (Keystone and Glance run in sessions of their own)."""
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(deadline)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    end = time.monotonic() + deadline
    while any(listening(p) for p in ports.values()):
        if time.monotonic() > end:
            raise SystemExit(f"ports still served {deadline} s after the stack stopped")
        time.sleep(0.1)


def come_up(state: Path, ports: dict[str, int], deadline: float,
            hosts: int = 1) -> tuple[subprocess.Popen, dict]:
    keystone = f"http://127.0.0.1:{ports['--keystone-port']}"
    api = f"http://127.0.0.1:{ports['--api-port']}"
    t0 = time.monotonic()
    proc = start(state, ports, hosts)
    seen: dict[str, float] = {}
    tok = None
    while time.monotonic() - t0 < deadline and proc.poll() is None and "api" not in seen:
        now = time.monotonic() - t0
        if "keystone" not in seen and answers(f"{keystone}/v3"):
            seen["keystone"] = now
        if "api_unauth" not in seen and answers(f"{api}/"):
            seen["api_unauth"] = now
        if "keystone" in seen and tok is None:
            tok = token(keystone, state)
        if tok and answers(f"{api}/v2.1/flavors", {"X-Auth-Token": tok}):
            seen["api"] = time.monotonic() - t0
        time.sleep(0.1)
    if "api" not in seen:
        stop(proc, ports)
        raise SystemExit(f"the stack did not come up in {deadline} s (see {state}/up.log)")
    return proc, {"keystone_ready_s": round(seen["keystone"], 2),
                  "api_ready_s": round(seen["api"], 2),
                  "api_unauthenticated_ready_s": round(seen.get("api_unauth", seen["api"]), 2),
                  "keystone_on_path": seen["keystone"] >= seen.get("api_unauth", 0.0)}


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return (time.perf_counter() - t) * 1000


def stats(values: list[float]) -> dict:
    ordered = sorted(values)
    return {"p50": round(statistics.median(ordered), 2),
            "p95": round(ordered[int(0.95 * (len(ordered) - 1))], 2)}


def request_costs(state: Path, ports: dict[str, int], samples: int) -> dict:
    keystone = f"http://127.0.0.1:{ports['--keystone-port']}"
    api = f"http://127.0.0.1:{ports['--api-port']}"
    session = requests.Session()
    service = token(keystone, state, "admin", "admin")
    tokens = [token(keystone, state) for _ in range(samples)]
    warm_token = tokens[0]
    session.get(f"{api}/v2.1/flavors", headers={"X-Auth-Token": warm_token}).raise_for_status()

    def get(url: str, headers: dict | None = None, expect: int = 200) -> None:
        resp = session.get(url, headers=headers)
        if resp.status_code != expect:
            raise SystemExit(f"{url} answered {resp.status_code}: {resp.text[:200]}")

    flavors = f"{api}/v2.1/flavors"
    cold = [timed(lambda t=t: get(flavors, {"X-Auth-Token": t})) for t in tokens[1:]]
    warm = [timed(lambda: get(flavors, {"X-Auth-Token": warm_token})) for _ in tokens[1:]]
    floor = [timed(lambda: get(f"{api}/")) for _ in tokens[1:]]
    keystone_check = [timed(lambda t=t: get(f"{keystone}/v3/auth/tokens", {
        "X-Auth-Token": service, "X-Subject-Token": t})) for t in tokens[1:]]
    return {"warm": stats(warm), "cold": stats(cold), "anchor_unauthenticated": stats(floor),
            "anchor_keystone_validate": stats(keystone_check)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--deadline", type=float, default=300.0)
    args = parser.parse_args()
    state = Path(tempfile.mkdtemp(prefix="nf-identity-"))
    ports = {flag: free_port() for flag in PORT_FLAGS}
    out: dict = {"benchmark": "identity", "loadavg_start": round(os.getloadavg()[0], 2)}
    proc, out["first_start"] = come_up(state, ports, args.deadline)
    stop(proc, ports)
    proc, out["restart"] = come_up(state, ports, args.deadline)
    try:
        out["request_ms"] = request_costs(state, ports, args.samples)
    finally:
        stop(proc, ports)
    out["loadavg_end"] = round(os.getloadavg()[0], 2)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
