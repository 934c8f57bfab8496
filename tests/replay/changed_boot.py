"""A deliberately incompatible copy of BootServerWorkflow: it pauses on a
timer before the token check, so its first command (a timer) differs from
the first command of every recorded boot history (the token check)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

from workflows.boot import BootServerInput, BootServerResult, BootServerWorkflow


@workflow.defn(name="BootServerWorkflow", sandboxed=False)
class ChangedBootServerWorkflow(BootServerWorkflow):
    @workflow.run
    async def run(self, inp: BootServerInput) -> BootServerResult:
        await workflow.sleep(timedelta(seconds=1))  # the incompatible change
        return await super().run(inp)
