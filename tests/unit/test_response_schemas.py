"""The response-schema check of the API tests (tests/compute_schemas.py):
every compute route is mapped to Nova's published schema (or listed with a
reason), and the check refuses what Nova's schema refuses."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx
import pytest
from fastapi.routing import APIRoute

sys.path.insert(0, str(Path(__file__).parents[1]))

import compute_schemas


def test_every_compute_route_has_a_schema_or_a_reason(tmp_path):
    from api.app import create_app
    from novaflow.settings import Settings

    app = create_app(Settings(state_dir=tmp_path, database_url=f"sqlite:///{tmp_path}/x.db"),
                     token_backend=object())  # type: ignore[arg-type]
    unmapped = []
    for route in app.routes:
        if isinstance(route, APIRoute) and route.path.startswith("/v2.1"):
            for method in route.methods - {"HEAD"}:
                path = route.path[len("/v2.1"):].replace("{", "").replace("}", "")
                found = compute_schemas.route_for(method, path)
                if found is None or (found.source is None and not found.reason):
                    unmapped.append((method, route.path))
    assert unmapped == []


def _server(**extra) -> dict:
    return {"server": {"id": "5e0b9b9e-6c5a-4a55-a9f4-0f1c9a6f7d11", "links": [
        {"rel": "self", "href": "http://x/v2.1/servers/1"},
        {"rel": "bookmark", "href": "http://x/servers/1"}], "name": "vm", **extra}}


def test_a_key_outside_novas_schema_is_refused():
    headers = httpx.Headers({"openstack-api-version": "compute 2.1"})
    with pytest.raises(compute_schemas.SchemaViolation, match="novaflow:workflow_id"):
        compute_schemas.validate("GET", "/servers/x", 200, headers, None,
                                 _server(**{"novaflow:workflow_id": "boot-x"}))
    with pytest.raises(compute_schemas.SchemaViolation, match="Nova answers"):
        compute_schemas.validate("DELETE", "/servers/x", 200, headers, None, "")
    with pytest.raises(compute_schemas.SchemaViolation, match="no published schema"):
        compute_schemas.validate("GET", "/os-not-a-route", 200, headers, None, {})
    with pytest.raises(compute_schemas.SchemaViolation, match="fault body"):
        compute_schemas.validate("GET", "/servers/x", 404, headers, None, {"detail": "x"})
    compute_schemas.validate("GET", "/servers/x", 404, headers, None,
                             {"itemNotFound": {"code": 404, "message": "gone"}})


def test_the_schema_follows_the_microversion():
    # 2.1 has no "locked"; 2.9 requires it.
    list_body = {"servers": [{"id": "a", "name": "vm", "links": []}]}
    compute_schemas.validate("GET", "/servers", 200, httpx.Headers(
        {"openstack-api-version": "compute 2.9"}), None, list_body)
    route = compute_schemas.route_for("GET", "/servers/x")
    v21 = compute_schemas.schema_for(route, (2, 1), None, {})
    v29 = compute_schemas.schema_for(route, (2, 9), None, {})
    server_props = lambda s: s["response_body"]["properties"]["server"]["properties"]  # noqa: E731
    assert "locked" not in server_props(v21) and "locked" in server_props(v29)
