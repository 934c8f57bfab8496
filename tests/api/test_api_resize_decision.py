"""A resize decision the workflow's validator refuses answers 409, even when
the database (read by the API's table check) still looks like VERIFY_RESIZE:
``start_update(..., wait_for_stage=ACCEPTED)`` does not raise for a
rejected update by itself (api/actions/moves.py ``_raise_if_rejected``)."""

from __future__ import annotations

import threading

from api_support import assert_nova_error, boot, delete_all, mv, server, wait_status
from sqlmodel import select
from stack import wait_for

from novaflow.states import TaskState
from schema.models import Instance, Migration


def test_a_decision_the_workflow_refuses_is_a_409(stack, demo, admin, catalog_ids,
                                                   monkeypatch):
    sid = boot(demo, catalog_ids, "decide-twice")
    try:
        wait_status(demo, sid, {"ACTIVE"})
        source = server(admin, sid)["OS-EXT-SRV-ATTR:host"]
        driver = stack.stack.running_hosts[source].driver
        started, release = threading.Event(), threading.Event()
        real = driver.confirm_migration

        def slow_confirm(server_id, same_host):
            started.set()
            release.wait(20)
            return real(server_id, same_host)
        monkeypatch.setattr(driver, "confirm_migration", slow_confirm)
        resp = demo.post(f"/v2.1/servers/{sid}/action", json={"resize": {"flavorRef": "2"}})
        assert resp.status_code == 202, resp.text
        wait_status(demo, sid, {"VERIFY_RESIZE"})
        try:
            assert demo.post(f"/v2.1/servers/{sid}/action",
                             json={"confirmResize": None}).status_code == 204
            wait_for(started.is_set, 20, what="the confirm to reach the source host")
            # The database lags behind the workflow (as it may when a read
            # races the decision): the table check passes, the validator refuses.
            with stack.db.writer() as s:
                row = s.exec(select(Instance).where(Instance.uuid == sid)).one()
                assert row.task_state == TaskState.RESIZE_CONFIRMING
                row.task_state = None
                s.add(row)
                mig = s.exec(select(Migration).where(Migration.instance_uuid == sid)
                             .order_by(Migration.id.desc())).first()
                status, mig.status = mig.status, "finished"
                s.add(mig)
            resp = demo.post(f"/v2.1/servers/{sid}/action", json={"revertResize": None},
                             headers=mv("2.1"))
            assert_nova_error(resp, 409, "conflictingRequest",
                              f"Cannot 'revertResize' instance {sid} while it is in "
                              "task_state resize_confirming")
            with stack.db.writer() as s:
                mig = s.get(Migration, mig.id)
                mig.status = status
                s.add(mig)
        finally:
            release.set()
        wait_status(demo, sid, {"ACTIVE"})
    finally:
        delete_all(demo, [sid])
