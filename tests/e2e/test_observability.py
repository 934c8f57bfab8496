"""What an operator sees of a build: search attributes, summaries, the
current step, failure types with structured details, and the API's links
into the Temporal UI."""

from __future__ import annotations

import pytest
from helpers import boot, server, wait_status
from sqlmodel import select
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError

from schema.models import Flavor, InstanceAction, InstanceActionEvent


async def _list_ids(client, query: str) -> list[str]:
    return [wf.id async for wf in client.list_workflows(query)]


def _huge_flavor(stack) -> str:
    with stack.db.writer() as s:
        if s.exec(select(Flavor).where(Flavor.flavorid == "obs-huge")).first() is None:
            s.add(Flavor(flavorid="obs-huge", name="obs-huge", vcpus=1024,
                         memory_mb=8 * 1024 * 1024, root_gb=1))
    return "obs-huge"


def test_boot_is_searchable_by_server_project_operation_host_and_flavor(
        stack, demo, admin, catalog_ids):
    sid = boot(demo, catalog_ids, "obs-search", flavor="1")
    wait_status(demo, sid, {"ACTIVE"})
    host = server(admin, sid)["OS-EXT-SRV-ATTR:host"]
    client = stack.stack.client
    query = (f'ServerId="{sid}" AND ProjectId="{demo.keystone.project_id}" AND Operation="boot" '
             f'AND Host="{host}" AND FlavorName="m1.tiny"')

    from stack import wait_for
    found = wait_for(lambda: stack.call(_list_ids(client, query)), timeout=30,
                     what="the boot to be indexed by its search attributes")
    assert found == [f"boot-{sid}"]
    desc = stack.call(client.get_workflow_handle(f"boot-{sid}").describe())
    assert stack.call(desc.static_summary()) == \
        f"boot obs-search (m1.tiny) for project {demo.keystone.project_id}"


def test_failed_boot_records_the_failure_type_and_filter_verdicts(stack, demo, admin,
                                                                  catalog_ids):
    sid = boot(demo, catalog_ids, "obs-novalid", flavor=_huge_flavor(stack))
    wait_status(demo, sid, {"ERROR"})
    handle = stack.stack.client.get_workflow_handle(f"boot-{sid}")
    with pytest.raises(WorkflowFailureError) as info:
        stack.call(handle.result())
    cause = info.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "NoValidHost"
    verdicts = cause.details[0]
    removed = {step["filter"]: step["removed"] for step in verdicts["steps"]}
    assert removed.get("RamFilter", 0) >= 1

    # Members see the message; admins also see the per-host reasons.
    assert "details" not in server(demo, sid)["fault"]
    admin_fault = server(admin, sid)["fault"]
    assert "RamFilter" in admin_fault["details"]
    shown = admin.get(f"/v2.1/servers/{sid}")
    assert shown.headers["Novaflow-Workflow-Url"].endswith(f"/workflows/boot-{sid}")
    assert not any(k.startswith("novaflow:") for k in shown.json()["server"])


def test_instance_actions_carry_workflow_and_run_ids(stack, demo, catalog_ids):
    sid = boot(demo, catalog_ids, "obs-actions")
    wait_status(demo, sid, {"ACTIVE"})
    with stack.db.reader() as s:
        action = s.exec(select(InstanceAction).where(InstanceAction.instance_uuid == sid)).one()
        events = s.exec(select(InstanceActionEvent).where(
            InstanceActionEvent.action_id == action.id)).all()
    assert action.workflow_id == f"boot-{sid}" and action.run_id
    names = [e.event for e in events]
    for step in ("check_token", "lookups", "select_destinations", "claim_resources",
                 "allocate_network", "spawn (attempt 1)", "mark_active"):
        assert step in names
    assert all(e.workflow_id == f"boot-{sid}" and e.run_id == action.run_id for e in events)


def test_admin_can_force_a_host_and_members_cannot(stack, demo, admin, catalog_ids):
    sid = boot(admin, catalog_ids, "forced", availability_zone="nova:host-2")
    wait_status(admin, sid, {"ACTIVE"})
    assert server(admin, sid)["OS-EXT-SRV-ATTR:host"] == "host-2"
    body = {"server": {"name": "not-allowed", "flavorRef": "1",
                       "imageRef": catalog_ids["image"],
                       "networks": [{"uuid": catalog_ids["network"]}],
                       "availability_zone": "nova:host-2"}}
    resp = demo.post("/v2.1/servers", json=body)
    assert resp.status_code == 403
    assert resp.json()["forbidden"]["code"] == 403
