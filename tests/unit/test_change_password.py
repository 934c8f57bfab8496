"""changePassword's answers where the control plane knows the driver cannot
set it: Nova's libvirt rules (kvm/qemu only, and only through the QEMU guest
agent the image enables), checked without a stack."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from api.actions import guest
from api.errors import Conflict, NotImplementedByDriver
from schema.models import ComputeNode, Instance


class _Reader:
    def __init__(self, node):
        self.node = node

    def __enter__(self):
        return SimpleNamespace(exec=lambda _stmt: SimpleNamespace(first=lambda: self.node))

    def __exit__(self, *_):
        return False


def _call(node: ComputeNode, image_props: dict):
    h = SimpleNamespace(db=SimpleNamespace(reader=lambda: _Reader(node)))
    ctx = SimpleNamespace(is_admin=False)
    inst = Instance(uuid="srv-1", display_name="vm", project_id="p", user_id="u",
                    vm_state="active", host="h1", image={"properties": image_props})
    asyncio.run(guest.change_password(h, ctx, inst, {"adminPass": "x"}))


def test_a_test_driver_host_cannot_set_passwords():
    with pytest.raises(Conflict, match="Set admin password is not supported"):
        _call(ComputeNode(host="h1", libvirt_uri="test:///x.xml", hypervisor_type="QEMU"), {})


def test_a_qemu_host_needs_the_images_guest_agent():
    node = ComputeNode(host="h1", libvirt_uri="qemu:///system", hypervisor_type="QEMU")
    with pytest.raises(Conflict, match="QEMU guest agent is not enabled"):
        _call(node, {})
    with pytest.raises(NotImplementedByDriver):
        _call(node, {"hw_qemu_guest_agent": "yes"})
