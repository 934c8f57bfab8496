"""Many simulated hosts on one control plane: registration, idle CPU, report lag, memory.

Starts ``novaflow up --hosts N`` (its own state dir and free ports) and
measures, from outside, what an operator would see:

- ``registration_s``: from launch until every host's service row exists;
- ``idle_cpu_cores``: CPU the novaflow processes and the Temporal server use
  over ``--idle`` seconds with nothing to do but host reports (per process
  in ``processes``);
- ``report_lag_p50_s`` / ``_p95_s`` / ``_max_s``: now minus each host's last
  heartbeat at the end of that window, and ``hosts_down``: how many are past
  ``service_down_time`` (60 s) and so invisible to the scheduler;
- ``rss_mb`` of each process.

The floor is the same figures for an idle dev server alone (``temporal_only``
in ``processes`` is measured before the stack starts, on the same machine, in
the same run).  Prints one JSON line; exit status 0 when every host
registered within ``--deadline`` and none is down.

    python benchmarks/hosts.py --hosts 1000 [--idle 60] [--deadline 300]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TICK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children(pid: int) -> list[int]:
    """pid and every descendant."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            kids = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            kids = []
        todo.extend(int(k) for k in kids)
    return out


def proc_name(pid: int) -> str:
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    text = " ".join(c.decode(errors="replace") for c in cmd)
    if "temporal" in text and "start-dev" in text:
        return "temporal"
    for word in ("worker control", "worker host", "sim-hosts", " api "):
        if word in text:
            return word.strip().replace(" ", "-")
    return "novaflow" if "novaflow" in text or "workers.cli" in text else text[:40]


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return 0.0


def threads(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/task"))
    except OSError:
        return 0


def fds(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


def heartbeats(db: Path) -> list[datetime | None]:
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        rows = conn.execute(
            "SELECT last_seen_up FROM services WHERE binary = 'nova-compute'").fetchall()
        conn.close()
    except sqlite3.Error:
        return []
    out = []
    for (ts,) in rows:
        if ts is None:
            out.append(None)
            continue
        t = datetime.fromisoformat(ts)
        out.append(t if t.tzinfo else t.replace(tzinfo=UTC))
    return out


def measure_cpu(pids: list[int], seconds: float) -> dict[int, float]:
    before = {p: cpu_seconds(p) for p in pids}
    time.sleep(seconds)
    return {p: round((cpu_seconds(p) - before[p]) / seconds, 3) for p in pids}


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--idle", type=float, default=60.0, help="idle window in seconds")
    parser.add_argument("--deadline", type=float, default=300.0,
                        help="give up waiting for registration after this many seconds")
    parser.add_argument("--keep", help="state dir to use (and keep) instead of a temp one")
    args = parser.parse_args()
    state = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="nf-hosts-"))
    ports = [str(free_port()) for _ in range(3)]
    cmd = [sys.executable, "-c", "import sys; from workers.cli import main; main(sys.argv[1:])",
           "up", "--state-dir", str(state), "--api-port", ports[0], "--temporal-port", ports[1],
           "--ui-port", ports[2], "--hosts", str(args.hosts)]
    out: dict = {"hosts": args.hosts, "loadavg_start": round(os.getloadavg()[0], 2)}
    log = open(state / "up.log", "w") if state.exists() else subprocess.DEVNULL
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    db = state / "novaflow.db"
    registered_at = None
    try:
        while time.monotonic() - t0 < args.deadline and proc.poll() is None:
            beats = heartbeats(db)
            if len(beats) >= args.hosts:
                registered_at = time.monotonic() - t0
                break
            time.sleep(0.5)
        out["registration_s"] = round(registered_at, 1) if registered_at else None
        out["registered"] = len(heartbeats(db))
        pids = children(proc.pid)
        # Let the first reports settle, then measure an idle window.
        time.sleep(min(15.0, args.idle / 4))
        cpu = measure_cpu(pids, args.idle)
        now = datetime.now(UTC)
        lags = [(now - b).total_seconds() for b in heartbeats(db) if b is not None]
        out["idle_cpu_cores"] = round(sum(cpu.values()), 3)
        out["report_lag_p50_s"] = pct(lags, 0.5)
        out["report_lag_p95_s"] = pct(lags, 0.95)
        out["report_lag_max_s"] = round(max(lags), 2) if lags else None
        out["hosts_down"] = sum(1 for x in lags if x > 60) + (out["registered"] - len(lags))
        out["processes"] = [{"name": proc_name(p), "cpu_cores": cpu[p], "rss_mb": rss_mb(p),
                             "threads": threads(p), "fds": fds(p)} for p in pids]
        out["loadavg_end"] = round(os.getloadavg()[0], 2)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
    print(json.dumps(out))
    ok = registered_at is not None and out.get("hosts_down") == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
