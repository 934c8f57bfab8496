"""Operator tasks against a Temporal cluster: registering novaflow's search
attributes (``novaflow temporal setup``) and replaying a workflow's history
against the local code (``novaflow replay``)."""

from __future__ import annotations

from dataclasses import dataclass

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client, WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.worker import Replayer

from workers.temporal_server import SEARCH_ATTRIBUTES

_TYPES = {"Keyword": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
          "Text": IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
          "Int": IndexedValueType.INDEXED_VALUE_TYPE_INT}


async def register_search_attributes(client: Client, namespace: str = "default") -> list[str]:
    """Add the search attributes novaflow's workflows set; returns those added."""
    existing = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace))
    have = set(existing.custom_attributes) | set(existing.system_attributes)
    missing = {k: _TYPES[v] for k, v in SEARCH_ATTRIBUTES.items() if k not in have}
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=namespace, search_attributes=missing))
    return sorted(missing)


def all_workflows() -> list[type]:
    """Every workflow class the control worker runs."""
    from workers.control import WORKFLOWS

    return list(WORKFLOWS)


@dataclass
class ReplayOutcome:
    workflow_id: str
    ok: bool
    error: str = ""


async def replay_history(history: WorkflowHistory, workflows: list[type] | None = None,
                         data_converter: DataConverter | None = None) -> ReplayOutcome:
    """Replay one history against the local workflow code; with the payload
    codec's converter for encrypted histories (plain payloads pass through)."""
    kwargs = {"data_converter": data_converter} if data_converter else {}
    replayer = Replayer(workflows=workflows or all_workflows(), **kwargs)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    if result.replay_failure is None:
        return ReplayOutcome(history.workflow_id, True)
    return ReplayOutcome(history.workflow_id, False,
                         f"{type(result.replay_failure).__name__}: {result.replay_failure}")


async def fetch_history(client: Client, workflow_id: str,
                        run_id: str | None = None) -> WorkflowHistory:
    return await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
