"""A deliberately incompatible copy of BootServerWorkflow: it skips the token
check, so its first command differs from every recorded boot history."""

from __future__ import annotations

from temporalio import workflow

from workflows.boot import BootServerInput, BootServerResult, BootServerWorkflow


@workflow.defn(name="BootServerWorkflow", sandboxed=False)
class ChangedBootServerWorkflow(BootServerWorkflow):
    @workflow.run
    async def run(self, inp: BootServerInput) -> BootServerResult:
        inp.ctx.token = "skipped"
        return await self._build_without_token_check(inp)

    async def _build_without_token_check(self, inp: BootServerInput) -> BootServerResult:
        # Straight to scheduling: the recorded history's first activity was
        # check_token, so replay must stop with a NondeterminismError.
        claim = await self._schedule_and_claim(inp, None, None, [], 1, [], None)
        return BootServerResult(server_id=inp.ctx.server_id, host=claim.host, attempts=1,
                                tried_hosts=[])
