"""A worker interceptor that binds each activity's log context: the workflow
id, run id, activity name and, when the input names one, the server id, so
every log line an activity writes says which build it belongs to."""

from __future__ import annotations

from typing import Any

from temporalio import activity
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

from novaflow import logs


def _server_id(args: Any) -> str | None:
    for arg in args:
        ctx = getattr(arg, "ctx", None)
        sid = getattr(ctx, "server_id", None) or getattr(arg, "server_id", None)
        if sid:
            return sid
    return None


class _Inbound(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        info = activity.info()
        logs.clear()
        logs.bind(workflow_id=info.workflow_id, run_id=info.workflow_run_id,
                  activity=info.activity_type, server_id=_server_id(input.args))
        return await self.next.execute_activity(input)


class LogContextInterceptor(Interceptor):
    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Inbound(next)
