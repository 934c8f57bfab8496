"""Boot latency and memory with many hosts, against the 3-host figure of the
same run: does a control plane with 1,000 simulated hosts still boot fast?

For each host count (3, the anchor, then ``--hosts``) it starts its own
``novaflow up --hosts N`` (own state dir and free ports), waits until every
host has registered, boots ``--servers`` servers one at a time through
``benchmarks/boot.py`` (POST to ACTIVE, then delete) and records the RSS of
each process of the stack.  Prints one JSON line with both runs and
``p50_ratio`` (N-host boot p50 over the 3-host one).

    python benchmarks/boot_at_scale.py --hosts 1000 [--servers 10]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hosts import children, heartbeats, proc_name, rss_mb
from identity import PORT_FLAGS, come_up, free_port, stop

ROOT = Path(__file__).resolve().parent.parent


def raise_quota(env: dict, servers: int) -> None:
    """demo's instance quota (10) covers ``servers`` (boot.py deletes at the end)."""
    subprocess.run(
        [sys.executable, "-c",
         "import sys, openstack; c = openstack.connect(cloud='novaflow-admin'); "
         "c.set_compute_quotas('demo', instances=int(sys.argv[1]), cores=int(sys.argv[1]), "
         "ram=int(sys.argv[1]) * 1024)", str(max(servers, 10))],
        cwd=ROOT, env=env, check=True, capture_output=True, timeout=120)


def one_run(hosts: int, servers: int, deadline: float) -> dict:
    state = Path(tempfile.mkdtemp(prefix=f"nf-scale-{hosts}-"))
    ports = {flag: free_port() for flag in PORT_FLAGS}
    t0 = time.monotonic()
    proc, ready = come_up(state, ports, deadline, hosts)
    out: dict = {"hosts": hosts, "api_ready_s": ready["api_ready_s"]}
    try:
        # clouds.yaml is written once `novaflow up` has finished starting.
        while (len(heartbeats(state / "novaflow.db")) < hosts
               or not (state / "clouds.yaml").exists()):
            if time.monotonic() - t0 > deadline:
                raise SystemExit(f"{hosts} hosts did not register in {deadline} s")
            time.sleep(0.5)
        out["registered_s"] = round(time.monotonic() - t0, 1)
        env = {**os.environ, "OS_CLIENT_CONFIG_FILE": str(state / "clouds.yaml")}
        raise_quota(env, servers)
        boot = subprocess.run(
            [sys.executable, str(ROOT / "benchmarks" / "boot.py"), "--servers", str(servers),
             "--concurrency", "1", "--api", f"http://127.0.0.1:{ports['--api-port']}",
             "--cloud", "novaflow"], cwd=ROOT, env=env, capture_output=True, text=True,
            timeout=deadline)
        if boot.returncode != 0:
            raise SystemExit(f"boot.py failed: {boot.stderr[-2000:]}")
        figures = json.loads(boot.stdout.strip().splitlines()[-1])
        out.update({k: figures.get(k) for k in ("ok", "errors", "p50_ms", "p95_ms")})
        rss: dict[str, float] = {}
        for pid in children(proc.pid):
            name = proc_name(pid)
            rss[name] = round(rss.get(name, 0.0) + rss_mb(pid), 1)
        out["rss_mb"] = rss
    finally:
        stop(proc, ports)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--servers", type=int, default=10)
    parser.add_argument("--deadline", type=float, default=600.0)
    args = parser.parse_args()
    out: dict = {"benchmark": "boot_at_scale", "loadavg_start": round(os.getloadavg()[0], 2)}
    out["anchor"] = one_run(3, args.servers, args.deadline)
    out["scaled"] = one_run(args.hosts, args.servers, args.deadline)
    a, b = out["anchor"].get("p50_ms"), out["scaled"].get("p50_ms")
    out["p50_ratio"] = round(b / a, 2) if a and b else None
    out["loadavg_end"] = round(os.getloadavg()[0], 2)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
