"""The layering rules, checked on the source: lower layers never import
upper ones, and workflows import nothing that touches the outside world."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LOWER = ("novaflow", "schema", "activities")
UPPER = ("api", "workers", "workflows")
# What workflow code may not import itself (activity classes come in through
# imports_passed_through, and only to name the activities it calls).
WORKFLOW_FORBIDDEN = ("sqlmodel", "sqlalchemy", "httpx", "libvirt", "structlog", "openstack",
                      "keystoneauth1", "schema", "novaflow.settings", "novaflow.logs")


def imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            out.append(node.module)
            # ``from activities import x`` imports the module activities.x.
            out += [f"{node.module}.{a.name}" for a in node.names]
    return out


def modules(*packages: str) -> list[Path]:
    return sorted(p for pkg in packages for p in (ROOT / pkg).rglob("*.py"))


@pytest.mark.parametrize("path", modules(*LOWER), ids=lambda p: str(p.relative_to(ROOT)))
def test_lower_layers_never_import_upper_ones(path):
    bad = [m for m in imports(path) if m.split(".")[0] in UPPER]
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


@pytest.mark.parametrize("path", modules("workflows"), ids=lambda p: str(p.relative_to(ROOT)))
def test_workflows_touch_no_database_network_libvirt_or_settings(path):
    bad = [m for m in imports(path)
           if any(m == f or m.startswith(f + ".") for f in WORKFLOW_FORBIDDEN)]
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


@pytest.mark.parametrize("path", modules("api"), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_api_takes_domain_rules_from_shared_modules(path):
    # The API may name activity types (workflow inputs) and the token check's
    # backend; rules such as service liveness come from novaflow/.
    allowed = ("activities.types.", "activities.identity.")
    bad = [m for m in imports(path) if m.startswith("activities.")
           and not (f"{m}.".startswith(allowed))]
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}"
