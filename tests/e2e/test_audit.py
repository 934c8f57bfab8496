"""``novaflow audit``: discrepancies planted behind the control plane's back
(a domain made through libvirt directly, an allocation with no consumer) are
reported, healed with ``--fix``, and gone on the next run."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

from sqlmodel import select

from activities.types.catalog import FlavorInfo, ImageInfo
from activities.types.hypervisor import SpawnInput
from schema.models import Allocation, ComputeNode

NOVAFLOW = Path(sys.executable).parent / "novaflow"


def audit(stack, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(NOVAFLOW), "audit", "--temporal-address",
                           stack.stack.settings.temporal_address, *args],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "NOVAFLOW_STATE_DIR": str(stack.stack.state_dir)})


def test_audit_reports_and_heals_what_was_planted(stack):
    ghost = str(uuid.uuid4())
    driver = stack.stack.running_hosts["host-1"].driver
    driver.spawn(SpawnInput(server_id=ghost, name="ghost", project_id="nobody",
                            flavor=FlavorInfo(flavorid="1", name="m1.tiny", vcpus=1,
                                              memory_mb=512, root_gb=1),
                            image=ImageInfo(id="none", name="none"), ports=[]))
    orphan = str(uuid.uuid4())
    with stack.db.writer() as s:
        node = s.exec(select(ComputeNode).where(ComputeNode.host == "host-2")).one()
        s.add(Allocation(consumer_id=orphan, node_uuid=node.uuid, vcpus=1, memory_mb=64,
                         disk_gb=0))

    found = audit(stack)
    assert found.returncode == 3, found.stderr[-2000:]
    assert f"unknown_domain: {ghost} on host-1" in found.stdout
    assert f"orphan_allocation: {orphan} on host-2" in found.stdout

    fixed = audit(stack, "--fix")
    assert f"unknown_domain: {ghost} on host-1: no server record knows this domain [fixed]" \
        in fixed.stdout
    assert f"orphan_allocation: {orphan} on host-2" in fixed.stdout
    assert ghost not in [d.server_id for d in driver.list_domains()]
    with stack.db.reader() as s:
        assert not s.exec(select(Allocation).where(Allocation.consumer_id == orphan)).all()

    again = audit(stack)
    assert ghost not in again.stdout and orphan not in again.stdout


def test_audit_frees_a_cinder_attachment_held_for_a_gone_server(stack):
    from activities.block_storage import CinderAttachments, server_ids
    from novaflow.cloud import host_connection

    conn = host_connection(stack.stack.settings)
    cinder = CinderAttachments(lambda: conn)
    vol = conn.block_storage.create_volume(size=1, name="audit-orphan")
    gone = str(uuid.uuid4())
    try:
        attachment = cinder.reserve(vol.id, gone)  # through Cinder's API, as a build does
        found = audit(stack)
        assert found.returncode == 3, found.stderr[-2000:]
        assert f"orphan_attachment: {vol.id}" in found.stdout
        assert f"attached to server {gone}, which is gone" in found.stdout

        fixed = audit(stack, "--fix")
        assert f"orphan_attachment: {vol.id}" in fixed.stdout and "[fixed]" in fixed.stdout
        assert cinder.attachments(vol.id) == []
        assert not cinder.delete(attachment)  # gone already
        now = cinder.volume(vol.id)
        assert now["status"] == "available" and not server_ids(now)
        assert vol.id not in audit(stack).stdout
    finally:
        cinder.delete_volume(vol.id)
