"""Where a boot's time goes, read from the boot workflows' Temporal histories.

For each ``boot-<server id>`` workflow it cuts the run, from the workflow's
start to its completion, into consecutive segments, each named for what ended
it:

* ``queue:first_task`` (start to the first workflow task picked up) and
  ``task:<n>`` waits (a workflow task scheduled to started: the control
  worker's queue and poll latency);
* each local activity, ending at the ``complete_time`` its marker records
  (``la:check_token``, ``la:get_flavor``...; lookups run in parallel, so each
  one's segment is the part of the wait it ended);
* ``task_end`` (the last local activity to the workflow task's completion:
  the workflow code, payload encoding and the RPC);
* a host activity's ``queue:<name>`` (scheduled to started: the host
  worker's poll) and ``host:<name>`` (started to its end: completed,
  failed, timed out or cancelled);
* ``workflow_close`` (the last point to the workflow's completion).

``profile()`` returns the median of each segment over the boots and the
median total; ``benchmarks/boot.py --profile`` adds them to its JSON line
together with the API's share (POST /servers) and the polling lag.

    python benchmarks/boot_profile.py --workflows boot-<id> [...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
from collections import defaultdict
from datetime import UTC, datetime

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

_E = EventType
# An activity's end (whichever way it ended) -> the attributes naming its start.
_ACTIVITY_ENDS = {
    _E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: "activity_task_completed_event_attributes",
    _E.EVENT_TYPE_ACTIVITY_TASK_FAILED: "activity_task_failed_event_attributes",
    _E.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT: "activity_task_timed_out_event_attributes",
    _E.EVENT_TYPE_ACTIVITY_TASK_CANCELED: "activity_task_canceled_event_attributes",
}


def _ts(event) -> float:
    return event.event_time.ToDatetime(tzinfo=UTC).timestamp()


def _marker_point(event) -> tuple[str, float] | None:
    """(activity type, complete time) of a local-activity marker, else None."""
    attrs = event.marker_recorded_event_attributes
    payloads = attrs.details.get("data")
    if payloads is None or not payloads.payloads:
        return None
    data = json.loads(payloads.payloads[0].data)
    done = data.get("complete_time") or {}
    if "activity_type" not in data or "seconds" not in done:
        return None
    return data["activity_type"], done["seconds"] + done.get("nanos", 0) / 1e9


def segments(events) -> list[tuple[str, float]]:
    """(segment name, ms) in time order, for one workflow's history events.

    A workflow task's markers are written with its completion but happened
    between its start and its completion, so every point is ordered by time
    and the run is cut at each."""
    points: list[tuple[float, str]] = []
    names: dict[int, str] = {}
    start = end = None
    tasks = 0
    for ev in events:
        t = _ts(ev)
        kind = ev.event_type
        if kind == _E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            start = t
        elif kind == _E.EVENT_TYPE_WORKFLOW_TASK_STARTED:
            tasks += 1
            points.append((t, "queue:first_task" if tasks == 1 else "queue:workflow_task"))
        elif kind == _E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            points.append((t, "task_end"))
        elif kind == _E.EVENT_TYPE_MARKER_RECORDED:
            point = _marker_point(ev)
            if point is not None:
                points.append((point[1], f"la:{point[0]}"))
        elif kind == _E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            names[ev.event_id] = ev.activity_task_scheduled_event_attributes.activity_type.name
        elif kind == _E.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            sid = ev.activity_task_started_event_attributes.scheduled_event_id
            points.append((t, f"queue:{names.get(sid, '?')}"))
        elif kind in _ACTIVITY_ENDS:
            attrs = getattr(ev, _ACTIVITY_ENDS[kind])
            points.append((t, f"host:{names.get(attrs.scheduled_event_id, '?')}"))
        elif kind == _E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
            end = t
    if start is None or end is None:
        return []
    points.sort()
    out: list[tuple[str, float]] = []
    last = start
    for t, name in points:
        if t < last:
            t = last
        out.append((name, (t - last) * 1000.0))
        last = t
    out.append(("workflow_close", (end - last) * 1000.0))
    return out


def summarize(runs: list[list[tuple[str, float]]]) -> dict:
    """Median ms of each segment name (summed within a run) and of the total."""
    per_name: dict[str, list[float]] = defaultdict(list)
    totals = []
    for run in runs:
        sums: dict[str, float] = defaultdict(float)
        for name, ms in run:
            sums[name] += ms
        for name, ms in sums.items():
            per_name[name].append(ms)
        totals.append(sum(sums.values()))
    n = len(runs)
    # A segment absent from a run counts as 0 there.
    med = {name: round(statistics.median(v + [0.0] * (n - len(v))), 1)
           for name, v in per_name.items()}
    return {"workflows": n,
            "workflow_p50_ms": round(statistics.median(totals), 1) if totals else None,
            "segments_p50_ms": dict(sorted(med.items(), key=lambda kv: -kv[1]))}


async def fetch(address: str, workflow_ids: list[str]) -> list[tuple[list, float | None]]:
    """Each workflow's history events and close time (epoch seconds)."""
    client = await Client.connect(address)
    out = []
    for wid in workflow_ids:
        history = await client.get_workflow_handle(wid).fetch_history()
        events = list(history.events)
        closes = [_ts(e) for e in events
                  if e.event_type == _E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED]
        out.append((events, closes[-1] if closes else None))
    return out


async def profile(address: str, workflow_ids: list[str]) -> tuple[dict, dict[str, float]]:
    """The summary over ``workflow_ids`` and each one's close time."""
    fetched = await fetch(address, workflow_ids)
    runs = [segments(events) for events, _ in fetched]
    closed = {wid: close for wid, (_, close) in zip(workflow_ids, fetched, strict=True) if close}
    return summarize([r for r in runs if r]), closed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--temporal-address", default="127.0.0.1:7233")
    parser.add_argument("--workflows", nargs="+", required=True)
    args = parser.parse_args()
    summary, _ = asyncio.run(profile(args.temporal_address, args.workflows))
    summary["at"] = datetime.now(UTC).isoformat()
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
