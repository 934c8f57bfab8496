"""Soft delete with ``reclaim_instance_interval`` > 0, through the API and
the openstack CLI: DELETE keeps the server SOFT_DELETED (powered off, its
resources kept), ``restore`` brings it back, ``forceDelete`` deletes it now,
and the durable timer reclaims what nobody restored, leaving nothing."""

from __future__ import annotations

import pytest
from api_support import assert_nova_error, boot, wait_gone, wait_status
from sqlmodel import select

from schema.models import Allocation, Port


@pytest.fixture
def reclaim(stack):
    """Soft delete on for one test (the API reads the setting per request)."""
    settings = stack.stack.settings
    before = settings.reclaim_instance_interval
    settings.reclaim_instance_interval = 3
    yield settings
    settings.reclaim_instance_interval = before


def _held(stack, sid: str) -> tuple[int, int]:
    with stack.db.reader() as s:
        return (len(s.exec(select(Allocation).where(Allocation.consumer_id == sid)).all()),
                len(s.exec(select(Port).where(Port.device_id == sid)).all()))


def _action(client, sid, name):
    return client.post(f"/v2.1/servers/{sid}/action", json={name: None})


def test_delete_soft_deletes_and_restore_brings_it_back(stack, demo, catalog_ids, reclaim):
    sid = boot(demo, catalog_ids, "soft-restore")
    wait_status(demo, sid, {"ACTIVE"})
    reclaim.reclaim_instance_interval = 60  # nothing reclaims it during this test
    assert demo.delete(f"/v2.1/servers/{sid}").status_code == 204
    soft = wait_status(demo, sid, {"SOFT_DELETED"})
    assert soft["OS-EXT-STS:power_state"] == 4 and _held(stack, sid) == (1, 1)
    assert_nova_error(_action(demo, sid, "os-start"), 409, "conflictingRequest",
                      f"Cannot 'start' instance {sid} while it is in vm_state soft-delete")
    assert _action(demo, sid, "restore").status_code == 202
    restored = wait_status(demo, sid, {"ACTIVE"})
    assert restored["OS-EXT-STS:power_state"] == 1
    assert_nova_error(_action(demo, sid, "restore"), 409, "conflictingRequest",
                      f"Cannot 'restore' instance {sid} while it is in vm_state active")
    assert_nova_error(_action(demo, sid, "forceDelete"), 409, "conflictingRequest",
                      f"Cannot 'forceDelete' instance {sid} while it is in vm_state active")
    reclaim.reclaim_instance_interval = 0
    assert demo.delete(f"/v2.1/servers/{sid}").status_code == 204
    wait_gone(demo, sid)


def test_force_delete_deletes_a_soft_deleted_server_now(stack, demo, catalog_ids, reclaim):
    sid = boot(demo, catalog_ids, "soft-force")
    wait_status(demo, sid, {"ACTIVE"})
    reclaim.reclaim_instance_interval = 60
    assert demo.delete(f"/v2.1/servers/{sid}").status_code == 204
    wait_status(demo, sid, {"SOFT_DELETED"})
    assert _action(demo, sid, "forceDelete").status_code == 202
    wait_gone(demo, sid, timeout=30)
    assert _held(stack, sid) == (0, 0)


def test_the_timer_reclaims_a_soft_deleted_server(stack, demo, catalog_ids, reclaim):
    sid = boot(demo, catalog_ids, "soft-reclaim")
    wait_status(demo, sid, {"ACTIVE"})
    assert demo.delete(f"/v2.1/servers/{sid}").status_code == 204
    wait_status(demo, sid, {"SOFT_DELETED"})
    wait_gone(demo, sid, timeout=30)
    assert _held(stack, sid) == (0, 0)
    acts = stack.db  # the reclaim recorded its own delete action
    with acts.reader() as s:
        from schema.models import InstanceAction
        names = [a.action for a in s.exec(select(InstanceAction).where(
            InstanceAction.instance_uuid == sid).order_by(InstanceAction.id))]
    assert names == ["create", "soft_delete", "delete"]


def test_a_server_not_yet_built_is_deleted_at_once(demo, catalog_ids, reclaim):
    sid = boot(demo, catalog_ids, "soft-building")
    assert demo.delete(f"/v2.1/servers/{sid}").status_code == 204
    wait_gone(demo, sid, timeout=30)


def test_server_delete_and_restore_with_the_cli(osc, demo, catalog_ids, reclaim):
    sid = boot(demo, catalog_ids, "cli-soft")
    wait_status(demo, sid, {"ACTIVE"})
    reclaim.reclaim_instance_interval = 60
    osc("server", "delete", sid)
    wait_status(demo, sid, {"SOFT_DELETED"})
    osc("server", "restore", sid)
    wait_status(demo, sid, {"ACTIVE"})
    reclaim.reclaim_instance_interval = 0
    osc("server", "delete", "--wait", sid)
    assert demo.get(f"/v2.1/servers/{sid}").status_code == 404
