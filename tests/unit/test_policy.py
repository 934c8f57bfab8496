"""Nova's policy through oslo.policy: who may do what by role, overrides from
a policy file, and every rule the API names is a registered one."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.routing import APIRoute

from activities.types.identity import Identity
from api.errors import Forbidden
from api.policy import ROUTE_RULES, PolicyEnforcer, route_rule

READER = Identity("u-r", "p-1", ["reader"])
MEMBER = Identity("u-m", "p-1", ["member", "reader"])
ADMIN = Identity("u-a", "p-admin", ["admin", "member", "reader"])
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def enforcer() -> PolicyEnforcer:
    return PolicyEnforcer()


@pytest.mark.parametrize("rule, reader, member, admin", [
    ("os_compute_api:servers:index", True, True, True),
    ("os_compute_api:servers:show", True, True, True),
    ("os_compute_api:servers:create", False, True, True),
    ("os_compute_api:servers:delete", False, True, True),
    ("os_compute_api:servers:reboot", False, True, True),
    ("os_compute_api:servers:index:get_all_tenants", False, False, True),
    ("os_compute_api:os-hypervisors:list", False, False, True),
    ("os_compute_api:os-services:update", False, False, True),
    ("os_compute_api:os-flavor-manage:create", False, False, True),
])
def test_defaults_by_role(enforcer, rule, reader, member, admin):
    target = {"project_id": "p-1", "user_id": "u-m"}
    assert [enforcer.allowed(i, rule, target) for i in (READER, MEMBER, ADMIN)] == \
        [reader, member, admin]


def test_project_rules_need_the_callers_own_project(enforcer):
    elsewhere = {"project_id": "p-2", "user_id": "x"}
    assert not enforcer.allowed(MEMBER, "os_compute_api:os-quota-sets:show", elsewhere)
    assert enforcer.allowed(ADMIN, "os_compute_api:os-quota-sets:show", elsewhere)


def test_refusal_names_the_rule(enforcer):
    with pytest.raises(Forbidden, match=r"^Policy doesn't allow "
                                        r"os_compute_api:servers:create to be performed\.$"):
        enforcer.authorize(READER, "os_compute_api:servers:create")


def test_a_policy_file_overrides_a_rule(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text('"os_compute_api:servers:create": "role:admin"\n'
                    '"os_compute_api:os-hypervisors:list": "role:reader"\n')
    enforcer = PolicyEnforcer(path)
    assert not enforcer.allowed(MEMBER, "os_compute_api:servers:create")
    assert enforcer.allowed(READER, "os_compute_api:os-hypervisors:list")
    assert enforcer.allowed(MEMBER, "os_compute_api:servers:delete")  # untouched default


def test_a_missing_policy_file_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        PolicyEnforcer(tmp_path / "nope.yaml")


def test_every_rule_the_api_names_is_registered(enforcer):
    named = set()
    for path in (REPO / "api").rglob("*.py"):
        named |= set(re.findall(r'"(os_compute_api:[A-Za-z0-9_:-]+)"', path.read_text()))
    named = {n for n in named if "{" not in n}
    assert named and not {n for n in named if not enforcer.registered(n)}
    assert all(enforcer.registered(r) for r in ROUTE_RULES.values() if r)


def _api_routes(routes, prefix=""):
    """(full path, APIRoute) of every route, inside included routers too."""
    for route in routes:
        if hasattr(route, "original_router"):  # FastAPI >= 0.165: an included router
            yield from _api_routes(route.original_router.routes,
                                   prefix + route.include_context.prefix)
        elif isinstance(route, APIRoute):
            yield prefix + route.path, route


def test_every_compute_route_has_its_own_rule(tmp_path):
    from api.app import create_app
    from novaflow.settings import Settings

    class NoTokens:
        pass

    app = create_app(Settings(state_dir=tmp_path, database_url=f"sqlite:///{tmp_path}/x.db"),
                     token_backend=NoTokens())  # type: ignore[arg-type]
    missing, seen = [], 0
    for path, route in _api_routes(app.routes):
        if path.startswith("/v2.1/"):
            seen += 1
            for method in route.methods:
                if (method, path) not in ROUTE_RULES:
                    missing.append((method, path))
    assert missing == [], missing
    assert seen > 50  # the routes were found (FastAPI 0.165 nests included routers)
    assert route_rule("GET", "/v2.1/os-not-there") == "admin_api"
