"""openstacksdk, unchanged, against the live API: it negotiates the newest
microversion, creates and waits for servers, follows pagination links, and
uses the keypair, server group, limits and resize calls a script would."""

from __future__ import annotations

import pytest
from api_support import ssh_public_key
from openstack import exceptions


def test_sdk_negotiates_the_newest_microversion(sdk):
    data = sdk.compute.get_endpoint_data()
    assert tuple(data.min_microversion) == (2, 1)
    assert tuple(data.max_microversion) == (2, 96)
    # The SDK then speaks the newest version both sides know, and we answer in it.
    resp = sdk.compute.get("/servers", microversion="2.96")
    assert resp.headers["OpenStack-API-Version"] == "compute 2.96"


def test_sdk_create_wait_paginate_and_delete(sdk):
    image = sdk.image.find_image("cirros", ignore_missing=False)
    net = sdk.network.find_network("private", ignore_missing=False)
    flavor = sdk.compute.find_flavor("m1.tiny", ignore_missing=False)
    keypair = sdk.compute.create_keypair(name="sdk-key", public_key=ssh_public_key())
    servers = []
    try:
        for n in range(2):
            servers.append(sdk.compute.create_server(
                name=f"sdk-vm-{n}", flavor_id=flavor.id, image_id=image.id,
                networks=[{"uuid": net.id}], key_name="sdk-key", metadata={"n": str(n)}))
        active = [sdk.compute.wait_for_server(s, interval=0.3, wait=60) for s in servers]
        for n, s in enumerate(active):
            assert s.status == "ACTIVE"
            assert s.flavor.original_name == "m1.tiny"  # embedded flavor (2.47+)
            assert s.key_name == "sdk-key" and s.metadata == {"n": str(n)}
            assert s.addresses["private"][0]["addr"].startswith("10.0.")

        # One server per page: the SDK follows servers_links to the end.
        paged = [s.id for s in sdk.compute.servers(limit=1)]
        assert len(paged) == len(set(paged))
        assert {s.id for s in servers} <= set(paged)

        actions = list(sdk.compute.server_actions(servers[0]))
        assert [a.action for a in actions] == ["create"]
    finally:
        for s in servers:
            sdk.compute.delete_server(s)
        for s in servers:
            sdk.compute.wait_for_delete(s, interval=0.3, wait=60)
        sdk.compute.delete_keypair(keypair)
    with pytest.raises(exceptions.NotFoundException):
        sdk.compute.get_server(servers[0].id)


def test_sdk_keypair_server_group_and_limits(sdk, stack):
    key = sdk.compute.create_keypair(name="sdk-key-2", public_key=ssh_public_key())
    try:
        assert key.fingerprint.count(":") == 15
        assert sdk.compute.get_keypair("sdk-key-2").public_key == key.public_key
    finally:
        sdk.compute.delete_keypair(key)
    group = sdk.compute.create_server_group(name="sdk-grp", policy="soft-anti-affinity")
    try:
        assert group.policy == "soft-anti-affinity"
        assert group.id in {g.id for g in sdk.compute.server_groups()}
    finally:
        sdk.compute.delete_server_group(group)
    limits = sdk.compute.get_limits()
    assert limits.absolute.instances == stack.stack.settings.quota.instances
    assert limits.absolute.total_cores_used >= 0


def test_sdk_resize_and_confirm(sdk, admin):
    image = sdk.image.find_image("cirros", ignore_missing=False)
    net = sdk.network.find_network("private", ignore_missing=False)
    # Zone nova has two hosts: a resize needs another host than the server's.
    server = sdk.compute.create_server(name="sdk-resize", flavor_id="1", image_id=image.id,
                                       networks=[{"uuid": net.id}], availability_zone="nova")
    try:
        server = sdk.compute.wait_for_server(server, interval=0.3, wait=60)
        sdk.compute.resize_server(server, "2")
        server = sdk.compute.wait_for_server(server, status="VERIFY_RESIZE", interval=0.3,
                                             wait=30)
        sdk.compute.confirm_server_resize(server)
        server = sdk.compute.wait_for_server(server, interval=0.3, wait=60)
        assert server.flavor.original_name == "m1.small"
    finally:
        sdk.compute.delete_server(server)
        sdk.compute.wait_for_delete(server, interval=0.3, wait=60)
