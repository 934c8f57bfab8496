"""Validate docker-compose.temporal.yml with `docker-compose config`.

The file must describe a PostgreSQL-backed Temporal server publishing :7233,
the Temporal UI on :8080, the admin tools, and a one-shot service that
registers novaflow's custom search attributes on the `default` namespace.
Skipped only when the `docker-compose` binary is not installed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.temporal.yml"
SEARCH_ATTRIBUTES = ["ServerId", "ProjectId", "Operation", "Host", "FlavorName"]
REQUIRED_SERVICES = ["postgresql", "temporal", "temporal-ui", "temporal-admin-tools"]


@pytest.fixture(scope="module")
def config() -> dict:
    """The compose file as normalised by `docker-compose config`."""
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.skip("docker-compose binary not installed")
    assert COMPOSE_FILE.is_file(), f"{COMPOSE_FILE} is missing"
    proc = subprocess.run(
        [binary, "-f", str(COMPOSE_FILE), "config"],
        cwd=REPO,
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, f"docker-compose config failed:\n{proc.stderr}"
    data = yaml.safe_load(proc.stdout)
    assert isinstance(data, dict) and "services" in data, proc.stdout
    return data


def _env(service: dict) -> dict[str, str]:
    """A service's environment as a dict (mapping or KEY=VALUE list form)."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def _published(service: dict) -> set[tuple[int, int]]:
    """(published, target) port pairs, from short or long port syntax."""
    pairs: set[tuple[int, int]] = set()
    for port in service.get("ports") or []:
        if isinstance(port, dict):
            if port.get("published") is not None:
                pairs.add((int(port["published"]), int(port["target"])))
        else:
            parts = str(port).split("/")[0].split(":")
            if len(parts) >= 2:
                pairs.add((int(parts[-2]), int(parts[-1])))
    return pairs


def _depends_on(service: dict) -> dict[str, str | None]:
    """depends_on as {service: condition} (list form has no condition)."""
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return {name: None for name in deps}
    return {name: (spec or {}).get("condition") for name, spec in deps.items()}


def _script(service: dict) -> str:
    """entrypoint + command of a service as one text, with `$$` unescaped."""
    parts: list[str] = []
    for key in ("entrypoint", "command"):
        value = service.get(key)
        if isinstance(value, list):
            parts.extend(str(v) for v in value)
        elif value:
            parts.append(str(value))
    return "\n".join(parts).replace("$$", "$")


def test_required_services_exist(config):
    services = config["services"]
    for name in REQUIRED_SERVICES:
        assert name in services, f"service {name!r} missing; have {sorted(services)}"


def test_images_are_pinned(config):
    for name, service in config["services"].items():
        image = service.get("image", "")
        assert ":" in image.rsplit("/", 1)[-1], f"{name}: image {image!r} has no tag"
        assert not image.endswith(":latest"), f"{name}: image {image!r} is not pinned"
    assert config["services"]["temporal"]["image"].startswith("temporalio/auto-setup:")
    assert config["services"]["temporal-ui"]["image"].startswith("temporalio/ui:")
    assert config["services"]["temporal-admin-tools"]["image"].startswith("temporalio/admin-tools:")


def test_temporal_publishes_frontend_7233(config):
    assert (7233, 7233) in _published(config["services"]["temporal"])


def test_ui_publishes_8080_and_talks_to_temporal(config):
    ui = config["services"]["temporal-ui"]
    assert (8080, 8080) in _published(ui)
    assert _env(ui).get("TEMPORAL_ADDRESS") == "temporal:7233"
    assert "temporal" in _depends_on(ui)


def test_admin_tools_point_at_temporal(config):
    tools = config["services"]["temporal-admin-tools"]
    assert _env(tools).get("TEMPORAL_ADDRESS") == "temporal:7233"


def test_temporal_uses_postgres(config):
    services = config["services"]
    temporal = services["temporal"]
    env = _env(temporal)
    plugin = env.get("DB") or env.get("SQL_PLUGIN", "")
    assert plugin.startswith("postgres12"), f"temporal persistence plugin is {plugin!r}"
    seeds = env.get("POSTGRES_SEEDS") or env.get("SQL_HOST")
    assert seeds == "postgresql"
    assert _depends_on(temporal).get("postgresql") == "service_healthy"

    pg = services["postgresql"]
    assert pg["image"].startswith("postgres:")
    assert pg.get("healthcheck", {}).get("test"), "postgresql needs a healthcheck"
    volumes = pg.get("volumes") or []
    targets = [v["target"] if isinstance(v, dict) else str(v).split(":")[1] for v in volumes]
    assert "/var/lib/postgresql/data" in targets, f"postgres data not on a volume: {volumes}"
    assert config.get("volumes"), "expected a named volume for postgres data"


def test_search_attributes_registered(config):
    registrars = {
        name: service
        for name, service in config["services"].items()
        if "search-attribute create" in _script(service)
    }
    assert len(registrars) == 1, f"expected one registration service, got {sorted(registrars)}"
    (service,) = registrars.values()
    script = _script(service)
    env = _env(service)

    assert "temporal operator search-attribute create" in script
    assert env.get("TEMPORAL_ADDRESS") == "temporal:7233"
    assert env.get("NAMESPACE") == "default"
    assert '--namespace "$NAMESPACE"' in script
    assert _depends_on(service).get("temporal") == "service_healthy"

    declared = dict(spec.split("=", 1) for spec in env["SEARCH_ATTRIBUTES"].split())
    assert declared == {name: "Keyword" for name in SEARCH_ATTRIBUTES}
    # the script iterates over exactly that list and passes name and type through
    assert re.search(r"for spec in \$SEARCH_ATTRIBUTES", script)
    assert '--name "$name" --type "$type"' in script
