"""The catalog tables (the Glance, Neutron and Cinder stand-ins' own) are
read only by the stand-ins: activities reach images, networks, ports and
volumes through openstacksdk, as they would a real cloud's services, and
so does the Compute API outside the stand-ins' own routes."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CATALOG_TABLES = {"Image", "Network", "Subnet", "Port", "Volume", "VolumeAttachment",
                  "VolumeSnapshot"}
NOT_YET: dict[str, set[str]] = {}
# The Cinder stand-in's own routes: the only API modules that read its tables.
CINDER_STAND_IN = {"api/routes/volumes.py", "api/routes/cinder_attachments.py",
                   "api/routes/volume_snapshots.py"}


def model_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    return {a.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
            and node.module == "schema.models" for a in node.names}


def catalog_imports(path: Path) -> set[str]:
    return model_imports(path) & CATALOG_TABLES


@pytest.mark.parametrize("path", sorted((ROOT / "activities").rglob("*.py")),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_no_activity_imports_the_catalog_tables(path):
    rel = str(path.relative_to(ROOT))
    bad = {t for t in catalog_imports(path) if rel not in NOT_YET.get(t, set())}
    assert not bad, f"{rel} imports the stand-ins' tables {sorted(bad)}"


def test_activities_use_openstacksdk_for_images_and_networks():
    for rel in ("activities/catalog.py", "activities/network.py"):
        assert "openstack" in (ROOT / rel).read_text(), rel
    assert "import openstack" in (ROOT / "novaflow/images.py").read_text()


def importers_outside(tables: set[str], stand_in: set[str]) -> dict[str, list[str]]:
    """Modules, other than the stand-in's own, that import any of ``tables``."""
    found = {}
    for top in ("activities", "api", "novaflow", "workers", "workflows", "schema"):
        for path in sorted((ROOT / top).rglob("*.py")):
            rel = str(path.relative_to(ROOT))
            used = model_imports(path) & tables
            if used and rel not in stand_in:
                found[rel] = sorted(used)
    return found


def test_only_the_cinder_stand_in_imports_its_tables():
    found = importers_outside({"Volume", "VolumeAttachment", "VolumeSnapshot"},
                              CINDER_STAND_IN)
    assert not found, f"modules outside the Cinder stand-in import its tables: {found}"


def test_activities_use_the_cinder_api_for_volumes():
    for rel in ("activities/volumes.py", "activities/audit.py", "activities/volume_attach.py"):
        assert "CinderAttachments" in (ROOT / rel).read_text(), rel


NEUTRON_TABLES = {"Network", "Subnet", "Port", "SecurityGroup", "DefaultSecurityGroup",
                  "SecurityGroupRule", "PortSecurityGroup"}
# The Neutron stand-in's own routes, and the first-start seed that makes the
# network ``private`` in it.
NEUTRON_STAND_IN = {"api/routes/catalog.py", "api/routes/neutron_security_groups.py",
                    "api/routes/neutron_security_group_rules.py", "schema/seed.py"}


def test_only_the_neutron_stand_in_imports_its_tables():
    """The compute API (boot's network checks, os-interface, the metadata
    service, security groups) reaches networks and ports through Neutron's API."""
    found = importers_outside(NEUTRON_TABLES, NEUTRON_STAND_IN)
    assert not found, f"modules outside the Neutron stand-in import its tables: {found}"
