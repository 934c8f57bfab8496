"""Boot, fail and delete servers end to end over HTTP against the real stack."""

from __future__ import annotations

from dataclasses import replace

import pytest
from helpers import allocations, boot, domain, ports, server, wait_gone, wait_status
from identity import issue_token
from sqlmodel import select
from temporalio.exceptions import ApplicationError

from activities.build_lookups import BuildLookupActivities
from activities.catalog import CatalogActivities
from activities.identity import IdentityActivities, keystone_backend
from activities.types.catalog import BuildLookupsInput, ImageInfo
from activities.types.context import OpContext
from novaflow.states import PowerState
from schema.models import Flavor, new_uuid


def test_boot_becomes_active_with_a_running_domain(stack, demo, admin, catalog_ids):
    server_id = boot(demo, catalog_ids, "vm-active", flavor="2")
    s = wait_status(demo, server_id, {"ACTIVE", "ERROR"})
    assert s["status"] == "ACTIVE", s.get("fault")
    assert s["OS-EXT-STS:power_state"] == PowerState.RUNNING
    assert s["addresses"]["private"][0]["addr"].startswith("10.0.")
    assert s["hostId"]
    assert "OS-EXT-SRV-ATTR:host" not in s  # members do not see the host

    host = server(admin, server_id)["OS-EXT-SRV-ATTR:host"]
    dom = domain(stack, host, server_id)
    assert dom is not None and dom.power_state == PowerState.RUNNING
    assert (dom.vcpus, dom.memory_mb) == (1, 2048)  # m1.small
    assert allocations(stack, server_id) == [(host, 1, 2048, 20)]


def test_flavor_larger_than_every_host_ends_in_error_with_no_valid_host(
        stack, demo, admin, catalog_ids):
    with stack.db.writer() as s:
        if s.exec(select(Flavor).where(Flavor.flavorid == "huge")).first() is None:
            s.add(Flavor(flavorid="huge", name="huge", vcpus=512, memory_mb=4 * 1024 * 1024,
                         root_gb=100000))
    server_id = boot(demo, catalog_ids, "vm-huge", flavor="huge")
    s = wait_status(demo, server_id, {"ACTIVE", "ERROR"})
    assert s["status"] == "ERROR"
    assert "No valid host was found" in s["fault"]["message"]
    assert "RamFilter" in s["fault"]["message"]
    assert allocations(stack, server_id) == []
    assert ports(stack, server_id) == []


def test_delete_removes_domain_allocation_and_port(stack, demo, admin, catalog_ids):
    server_id = boot(demo, catalog_ids, "vm-delete")
    wait_status(demo, server_id, {"ACTIVE"})
    host = server(admin, server_id)["OS-EXT-SRV-ATTR:host"]
    assert domain(stack, host, server_id) is not None
    assert len(ports(stack, server_id)) == 1

    assert demo.delete(f"/v2.1/servers/{server_id}").status_code == 204
    wait_gone(demo, server_id)
    assert domain(stack, host, server_id) is None
    assert allocations(stack, server_id) == []
    assert ports(stack, server_id) == []


def test_no_token_is_401_in_nova_format(anon):
    resp = anon.get("/v2.1/servers")
    assert resp.status_code == 401
    assert resp.json() == {"unauthorized": {
        "code": 401, "message": "The request you have made requires authentication."}}


def test_malformed_token_is_401(stack):
    import httpx
    with httpx.Client(base_url=stack.api_url, headers={"X-Auth-Token": "no-colon"}) as c:
        assert c.get("/v2.1/servers").status_code == 401


def test_other_project_gets_404(demo, other, catalog_ids):
    server_id = boot(demo, catalog_ids, "vm-private")
    resp = other.get(f"/v2.1/servers/{server_id}")
    assert resp.status_code == 404
    assert resp.json()["itemNotFound"]["code"] == 404
    assert other.delete(f"/v2.1/servers/{server_id}").status_code == 404
    listed = [s["id"] for s in other.get("/v2.1/servers").json()["servers"]]
    assert server_id not in listed


@pytest.mark.db_agnostic
def test_a_build_takes_the_image_the_api_checked_and_does_not_ask_glance_again(
        stack, catalog_ids):
    """The API checks the image in Glance and starts the build with it (as
    Nova's API puts it in the request spec): the build's lookups use that one.
    An image id Glance does not know shows which: asked, Glance refuses it."""
    settings = stack.stack.settings
    backend = keystone_backend(settings)
    lookups = BuildLookupActivities(IdentityActivities(backend),
                                    CatalogActivities(stack.db, settings))
    token, body = issue_token(stack.auth_url, stack.login("demo"))
    ctx = OpContext(server_id=new_uuid(), project_id=body["project"]["id"],
                    user_id=body["user"]["id"], token=token)
    unknown = new_uuid()
    checked = ImageInfo(id=unknown, name="as the API saw it", properties={"os_distro": "x"},
                        min_disk=1, min_ram=64)
    inp = BuildLookupsInput(ctx=ctx, flavor_ref="1", image_ref=unknown,
                            network_ids=[catalog_ids["network"]], image=checked)
    try:
        found = lookups.build_lookups(inp)
        assert found.image == checked and found.flavor.flavorid == "1"
        assert [n.id for n in found.networks] == [catalog_ids["network"]]
        with pytest.raises(ApplicationError, match=f"Image {unknown} could not be found"):
            lookups.build_lookups(replace(inp, image=None))
    finally:
        backend.session.session.close()
