"""/v2.1/os-instance_usage_audit_log (+ /{before}): the state of the monthly
instance-usage audit per compute host (admin only), as Nova reports it.

Nova's compute hosts run that audit as a periodic task and record it in
``task_log``; novaflow runs no such task (usage is computed on demand by
os-simple-tenant-usage), so every compute host is reported as not run for
the period, which is what Nova shows when the audit is disabled."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter
from sqlmodel import select

from api.deps import Ctx, Handles
from api.errors import BadRequest
from schema.models import Service

router = APIRouter(prefix="/v2.1/os-instance_usage_audit_log", tags=["usage audit log"])


def _month_before(year: int, month: int) -> tuple[int, int]:
    return (year - 1, 12) if month == 1 else (year, month - 1)


def last_completed_period(before: datetime) -> tuple[datetime, datetime]:
    """Nova's ``utils.last_completed_audit_period(unit='month')``."""
    end = datetime(before.year, before.month, 1)
    if end >= before:
        end = datetime(*_month_before(end.year, end.month), 1)
    begin = datetime(*_month_before(end.year, end.month), 1)
    return begin, end


def _log(h, before: datetime) -> dict:
    begin, end = last_completed_period(before)
    with h.db.reader() as s:
        hosts = sorted(set(s.exec(select(Service.host)
                                  .where(Service.binary == "nova-compute")).all()))
    return {"period_beginning": str(begin), "period_ending": str(end),
            "num_hosts": len(hosts), "num_hosts_done": 0, "num_hosts_running": 0,
            "num_hosts_not_run": len(hosts), "hosts_not_run": hosts, "total_instances": 0,
            "total_errors": 0, "overall_status": f"0 of {len(hosts)} hosts done. 0 errors.",
            "log": {}}


@router.get("")
def list_audit_logs(ctx: Ctx, h: Handles) -> dict:
    now = datetime.now(UTC).replace(tzinfo=None)
    return {"instance_usage_audit_logs": _log(h, now)}


@router.get("/{before_timestamp}")
def show_audit_log(before_timestamp: str, ctx: Ctx, h: Handles) -> dict:
    fmt = "%Y-%m-%d %H:%M:%S.%f" if "." in before_timestamp else "%Y-%m-%d %H:%M:%S"
    try:
        before = datetime.strptime(before_timestamp, fmt)
    except ValueError:
        raise BadRequest(f"Invalid timestamp for date {before_timestamp:.100}") from None
    return {"instance_usage_audit_log": _log(h, before)}
