"""Every recorded history still replays against the current workflow code,
and the guard really guards: a changed workflow fails to replay."""

from __future__ import annotations

import base64
import dataclasses
import json
import os
from pathlib import Path

import pytest
import temporalio.converter
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

from novaflow.codec import AESGCMCodec
from workers.temporal_admin import all_workflows, replay_history

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))
REQUIRED = {
    "boot_no_valid_host",
    "boot_rescheduled_after_spawn_failure",
    "boot_max_retries_exceeded",
    "boot_host_never_picked_up_spawn",
    "boot_cancelled_by_delete",
    "delete_during_build",
    "resize_reverted",
    "volume_attach_failed_on_host",
    "unshelve_no_valid_host",
    "evacuate_target_host_fails",
    # Recorded after moves began rebinding the ports (workflow.patched("rebind-ports")).
    "resize_reverted_rebinding_ports",
    "live_migrated_rebinding_ports",
    "shelve_offloaded_unbinding_ports",
}
REBINDING = {"resize_reverted_rebinding_ports", "live_migrated_rebinding_ports",
             "shelve_offloaded_unbinding_ports"}


def load(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(path.stem, path.read_text())


def patches(history: dict) -> list[str]:
    """The ids of the workflow.patched markers a history recorded."""
    out = []
    for event in history["events"]:
        marker = event.get("markerRecordedEventAttributes")
        if marker and marker["markerName"] == "core_patch":
            for payload in marker["details"]["patch-data"]["payloads"]:
                out.append(json.loads(base64.b64decode(payload["data"]))["id"])
    return out


def test_the_required_histories_are_recorded():
    assert REQUIRED <= {p.stem for p in HISTORIES}


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: p.stem)
async def test_history_replays_against_current_code(path: Path):
    outcome = await replay_history(load(path))
    assert outcome.ok, outcome.error


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: p.stem)
async def test_history_replays_through_the_payload_codec(path: Path):
    # Recorded before the codec: plain payloads pass through it unchanged.
    converter = dataclasses.replace(temporalio.converter.default(), payload_codec=AESGCMCodec(
        {"k-test": os.urandom(32)}, "k-test"))
    outcome = await replay_history(load(path), data_converter=converter)
    assert outcome.ok, outcome.error


def test_histories_record_the_failure_they_are_named_for():
    by_name = {p.stem: json.loads(p.read_text()) for p in HISTORIES}

    def failure_type(history: dict) -> str | None:
        last = history["events"][-1]
        attrs = last.get("workflowExecutionFailedEventAttributes")
        return attrs["failure"]["applicationFailureInfo"]["type"] if attrs else None

    assert failure_type(by_name["boot_no_valid_host"]) == "NoValidHost"
    assert failure_type(by_name["boot_max_retries_exceeded"]) == "MaxRetriesExceeded"
    assert failure_type(by_name["boot_rescheduled_after_spawn_failure"]) is None
    assert failure_type(by_name["volume_attach_failed_on_host"]) == "VolumeAttachFailed"
    assert failure_type(by_name["unshelve_no_valid_host"]) == "NoValidHost"
    assert failure_type(by_name["evacuate_target_host_fails"]) == "MaxRetriesExceeded"
    for name in REBINDING:  # they hold the patched branch, not the old one
        assert patches(by_name[name]) == ["rebind-ports"], name
    assert patches(by_name["resize_reverted"]) == []
    assert by_name["boot_cancelled_by_delete"]["events"][-1]["eventType"] in (
        "EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED", "WorkflowExecutionCanceled")


async def test_a_changed_workflow_is_caught_as_nondeterministic():
    from changed_boot import ChangedBootServerWorkflow

    others = [w for w in all_workflows() if w.__name__ != "BootServerWorkflow"]
    replayer = Replayer(workflows=[ChangedBootServerWorkflow, *others])
    history = load(next(p for p in HISTORIES if p.stem == "boot_rescheduled_after_spawn_failure"))
    with pytest.raises(NondeterminismError):
        await replayer.replay_workflow(history)
