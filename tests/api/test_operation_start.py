"""Every operation starts in one place (api/operations.py), checked two ways:
no other module starts a workflow, and every registered server action, sent
to a server whose states the transitions table refuses, answers that table's
409, word for word."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from api_support import assert_nova_error, boot, mv, wait_gone, wait_status
from sqlmodel import select

from api.actions import ACTIONS
from api.schemas.server_actions import ServerActionRequest
from novaflow.states import TRANSITIONS, TaskState, transition
from schema.models import Instance

ROOT = Path(__file__).resolve().parents[2]

# A valid body for each action, so that only the state check can refuse it.
BODIES = {
    "os-start": None, "os-stop": None, "pause": None, "unpause": None, "suspend": None,
    "resume": None, "reboot": {"type": "HARD"}, "resize": {"flavorRef": "2"},
    "migrate": None, "os-migrateLive": {"host": None, "block_migration": "auto"},
    "confirmResize": None, "revertResize": None, "os-getConsoleOutput": {"length": 5},
    "lock": None, "unlock": None,
    "os-resetState": {"state": "active"}, "trigger_crash_dump": None,
    "rebuild": {"imageRef": "00000000-0000-0000-0000-000000000000"},
    "restore": None, "forceDelete": None, "changePassword": {"adminPass": "s3cret"},
    "os-getVNCConsole": {"type": "novnc"}, "os-getSerialConsole": {"type": "serial"},
}
BODIES |= {"rescue": None, "unrescue": None}
# Actions Nova serves only up to a microversion below the one the test uses.
VERSIONS = {"os-getVNCConsole": "2.5", "os-getSerialConsole": "2.5"}
BODIES.update({
    "createImage": {"name": "snap"},
    "createBackup": {"name": "bak", "backup_type": "daily", "rotation": 1},
    "shelve": None, "shelveOffload": None, "unshelve": None,
    "evacuate": {},
})
BODIES.update({"addSecurityGroup": {"name": "default"},
               "removeSecurityGroup": {"name": "default"}})


def test_only_start_operation_starts_workflows():
    starters = [str(p.relative_to(ROOT)) for p in (ROOT / "api").rglob("*.py")
                if re.search(r"\.(start|execute)_workflow\(", p.read_text())]
    assert starters == ["api/operations.py"]


def test_every_action_names_rows_of_the_transitions_table():
    assert set(BODIES) == set(ACTIONS), "a new action needs a body here"
    for registered in ACTIONS.values():
        assert registered.operations and set(registered.operations) <= set(TRANSITIONS)


def test_every_action_is_declared_in_the_openapi_body():
    """The action route's published body names every action, and each valid
    body above validates against it (so tools can build and fuzz them)."""
    declared = {f.alias or n for n, f in ServerActionRequest.model_fields.items()}
    assert declared == set(ACTIONS)
    for name, body in BODIES.items():
        ServerActionRequest.model_validate({name: body})
    with pytest.raises(ValueError):
        ServerActionRequest.model_validate({"createBackup": {"name": "b", "rotation": 1}})


@pytest.fixture(scope="module")
def busy_server(stack, demo, catalog_ids):
    """An ACTIVE server that the database says is mid-reboot."""
    sid = boot(demo, catalog_ids, "busy")
    wait_status(demo, sid, {"ACTIVE"})
    with stack.db.writer() as s:
        row = s.exec(select(Instance).where(Instance.uuid == sid)).one()
        row.task_state = TaskState.REBOOTING_HARD
        s.add(row)
    yield sid
    with stack.db.writer() as s:
        row = s.exec(select(Instance).where(Instance.uuid == sid)).one()
        row.task_state = None
        s.add(row)
    demo.delete(f"/v2.1/servers/{sid}")
    wait_gone(demo, sid)


@pytest.mark.parametrize("name", sorted(BODIES))
def test_every_action_answers_the_tables_409(stack, busy_server, admin, name):
    resp = admin.post(f"/v2.1/servers/{busy_server}/action", json={name: BODIES[name]},
                      headers=mv(VERSIONS.get(name, "2.30")))
    expected = {transition(key).refusal(busy_server, "active", TaskState.REBOOTING_HARD)
                for key in ACTIONS[name].operations}
    if expected == {None} and name == "os-getConsoleOutput":  # a read: no task needed
        assert resp.status_code != 409, resp.text
        return
    if expected == {None}:  # rows that accept every state (lock, unlock, resetState)
        assert resp.status_code == 202, resp.text
        with stack.db.writer() as s:  # busy again (and unlocked) for the next action
            row = s.exec(select(Instance).where(Instance.uuid == busy_server)).one()
            row.vm_state, row.task_state, row.locked = "active", TaskState.REBOOTING_HARD, False
            s.add(row)
        return
    message = assert_nova_error(resp, 409, "conflictingRequest")
    assert message in expected


def test_of_racing_requests_exactly_one_takes_the_server(demo, catalog_ids):
    sid = boot(demo, catalog_ids, "race")
    wait_status(demo, sid, {"ACTIVE"})
    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda _: demo.post(f"/v2.1/servers/{sid}/action",
                                                  json={"os-stop": None}).status_code,
                              range(8)))
    assert sorted(codes) == [202] + [409] * 7
    wait_status(demo, sid, {"SHUTOFF"})
    demo.delete(f"/v2.1/servers/{sid}")
    wait_gone(demo, sid)
