"""When Temporal cannot take an operation, the API answers 503 with
Retry-After and leaves nothing behind: no hidden server counting against the
quota, no task_state held, no instance action."""

from __future__ import annotations

import httpx
import pytest
from server_api import boot, wait_gone, wait_status
from sqlmodel import select
from stack import free_port
from temporalio.client import Client

from api.app import create_app
from schema.models import Instance, InstanceAction
from workers.temporal_server import DevServer

pytestmark = pytest.mark.asyncio


@pytest.fixture
async def api_without_temporal(stack, demo, tmp_path):
    """The stack's API app and database, with a Temporal that has gone away."""
    server = DevServer(None, free_port(), free_port(), headless=True,
                       log_file=tmp_path / "temporal.log")
    await server.start()
    client = await Client.connect(server.address)
    server.stop()  # the outage
    app = create_app(stack.stack.settings, temporal=client)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://novaflow",
                                 headers={"X-Auth-Token": demo.keystone.token()}) as http:
        yield http


def assert_unavailable(resp: httpx.Response) -> None:
    assert resp.status_code == 503, resp.text
    assert list(resp.json()) == ["serviceUnavailable"]
    assert int(resp.headers["Retry-After"]) > 0


async def test_a_create_during_an_outage_leaves_no_server(stack, api_without_temporal,
                                                          catalog_ids):
    resp = await api_without_temporal.post("/v2.1/servers", json={"server": {
        "name": "outage-vm", "flavorRef": "1", "imageRef": catalog_ids["image"],
        "networks": [{"uuid": catalog_ids["network"]}]}})
    assert_unavailable(resp)
    with stack.db.reader() as s:
        assert not s.exec(select(Instance).where(Instance.display_name == "outage-vm")).all()


async def test_a_multi_create_during_an_outage_leaves_none_of_its_servers(
        stack, api_without_temporal, catalog_ids):
    """Every row of a multiple create is written before any workflow starts:
    the first start fails, and the servers not launched go too."""
    resp = await api_without_temporal.post("/v2.1/servers", json={"server": {
        "name": "outage-many", "flavorRef": "1", "imageRef": catalog_ids["image"],
        "networks": [{"uuid": catalog_ids["network"]}], "min_count": 3}})
    assert_unavailable(resp)
    with stack.db.reader() as s:
        assert not s.exec(select(Instance).where(
            Instance.display_name.startswith("outage-many"))).all()
        assert not s.exec(select(InstanceAction).where(
            InstanceAction.request_id == resp.headers["x-openstack-request-id"])).all()


async def test_an_action_during_an_outage_gives_the_server_back(stack, demo, catalog_ids,
                                                                api_without_temporal):
    sid = boot(demo, catalog_ids, "outage-stop")
    wait_status(demo, sid, {"ACTIVE"})
    resp = await api_without_temporal.post(f"/v2.1/servers/{sid}/action",
                                           json={"os-stop": None})
    assert_unavailable(resp)
    with stack.db.reader() as s:
        row = s.exec(select(Instance).where(Instance.uuid == sid)).one()
        actions = s.exec(select(InstanceAction.action)
                         .where(InstanceAction.instance_uuid == sid)).all()
    assert (row.vm_state, row.task_state, row.workflow_id) == ("active", None, f"boot-{sid}")
    assert actions == ["create"]
    # The real API still works on it.
    assert demo.post(f"/v2.1/servers/{sid}/action", json={"os-stop": None}).status_code == 202
    wait_status(demo, sid, {"SHUTOFF"})
    demo.delete(f"/v2.1/servers/{sid}")
    wait_gone(demo, sid)
