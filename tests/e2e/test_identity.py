"""Identity end to end against the session's real Keystone: password login,
token validation as keystonemiddleware does it (cache, revocation, expiry,
Keystone down), Nova's policy by role, and no token in any workflow history."""

from __future__ import annotations

import time

import httpx
import pytest
import temporalio.converter
from helpers import boot, wait_gone, wait_status
from identity import ISSUED, TOKEN_EXPIRATION, issue_token
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3
from stack import wait_for
from temporalio.client import Client

from activities.identity import keystone_backend
from novaflow.codec import ENCODING
from novaflow.temporal_client import data_converter
from workers.temporal_admin import replay_history


def _get(stack, token: str | None, path: str = "/v2.1/servers") -> httpx.Response:
    headers = {"X-Auth-Token": token} if token is not None else {}
    return httpx.get(stack.api_url + path, headers=headers, timeout=30)


def _assert_401(resp: httpx.Response) -> None:
    assert resp.status_code == 401, resp.text
    assert resp.json()["unauthorized"]["code"] == 401


def test_password_login_through_keystoneauth_and_the_catalog(stack):
    login = stack.login("demo")
    auth = v3.Password(auth_url=stack.auth_url, username=login.user, password=login.password,
                       project_name=login.project, user_domain_id="default",
                       project_domain_id="default")
    sess = ks_session.Session(auth=auth)
    compute = sess.get_endpoint(service_type="compute", interface="public")
    assert compute == f"{stack.api_url}/v2.1"
    # Images are a real Glance's, on its own port.
    assert sess.get_endpoint(service_type="image") == stack.glance_url
    resp = sess.get(f"{compute}/servers", raise_exc=False)
    assert resp.status_code == 200, resp.text


@pytest.mark.parametrize("token", ["admin:admin", "demo:demo", "", "x" * 9000,
                                   "gAAAAABnot-a-real-token"])
def test_made_up_tokens_get_401(stack, token):
    _assert_401(_get(stack, token))


def test_no_token_gets_401(stack):
    _assert_401(_get(stack, None))


def test_reader_reads_but_may_not_act(stack, reader, demo, catalog_ids, glance):
    sid = boot(demo, catalog_ids, "read-me")
    try:
        wait_status(demo, sid, {"ACTIVE"})
        assert reader.get("/v2.1/servers").status_code == 200
        assert reader.get(f"/v2.1/servers/{sid}").json()["server"]["id"] == sid
        assert reader.get("/v2.1/flavors").status_code == 200
        assert reader.get(f"/v2.1/servers/{sid}/os-instance-actions").status_code == 200
        assert glance("reader").get("/images").status_code == 200
        body = {"server": {"name": "nope", "flavorRef": "1", "imageRef": catalog_ids["image"],
                           "networks": [{"uuid": catalog_ids["network"]}]}}
        resp = reader.post("/v2.1/servers", json=body)
        assert resp.status_code == 403, resp.text
        assert resp.json()["forbidden"]["message"] == \
            "Policy doesn't allow os_compute_api:servers:create to be performed."
        resp = reader.post(f"/v2.1/servers/{sid}/action", json={"os-stop": None})
        assert resp.status_code == 403 and "os_compute_api:servers:stop" in resp.text
        assert reader.delete(f"/v2.1/servers/{sid}").status_code == 403
        assert reader.post("/v2.1/os-server-groups", json={"server_group": {
            "name": "g", "policies": ["affinity"]}}).status_code == 403
        assert reader.get("/v2.1/os-hypervisors").status_code == 403
    finally:
        demo.delete(f"/v2.1/servers/{sid}")
        wait_gone(demo, sid)


def test_member_acts_in_its_project_only_and_admin_everywhere(demo, other, admin,
                                                             catalog_ids):
    sid = boot(other, catalog_ids, "others-own")
    try:
        wait_status(other, sid, {"ACTIVE"})
        assert demo.get(f"/v2.1/servers/{sid}").status_code == 404
        assert demo.post(f"/v2.1/servers/{sid}/action",
                         json={"os-stop": None}).status_code == 404
        assert demo.get("/v2.1/os-hypervisors").status_code == 403
        listed = admin.get("/v2.1/servers", params={"all_tenants": 1}).json()["servers"]
        assert sid in {s["id"] for s in listed}
        assert admin.get("/v2.1/os-hypervisors").status_code == 200
        assert admin.post(f"/v2.1/servers/{sid}/action",
                          json={"os-stop": None}).status_code == 202
        wait_status(other, sid, {"SHUTOFF"})
    finally:
        admin.delete(f"/v2.1/servers/{sid}")
        wait_gone(admin, sid)


@pytest.mark.db_agnostic
def test_a_revoked_token_is_refused_once_the_cache_time_has_passed(stack):
    token, _ = issue_token(stack.auth_url, stack.login("demo"))
    assert _get(stack, token).status_code == 200  # now cached
    resp = httpx.delete(f"{stack.auth_url}/auth/tokens", timeout=30,
                        headers={"X-Auth-Token": token, "X-Subject-Token": token})
    assert resp.status_code == 204, resp.text
    started = time.monotonic()
    wait_for(lambda: _get(stack, token).status_code == 401, timeout=20,
             what="the revoked token to be refused")
    cache_time = stack.stack.settings.token_cache_time
    assert time.monotonic() - started <= cache_time + 5


@pytest.mark.db_agnostic
def test_the_builds_token_check_caches_a_valid_token(stack):
    """check_token validates with allow_expired (a build may outlive its token);
    a token still valid is cached all the same, so the builds after the first
    do not ask Keystone again (they did, every boot, before)."""
    token, _ = issue_token(stack.auth_url, stack.login("demo"))
    backend = keystone_backend(stack.stack.settings)
    try:
        assert backend.cache.get(token) is None
        ident = backend.validate(token, allow_expired=True)
        assert ident.project_id and backend.cache.get(token) == ident
    finally:
        backend.session.session.close()


@pytest.mark.db_agnostic
def test_an_expired_token_gets_401(stack):
    token, body = issue_token(stack.auth_url, stack.login("demo"))
    assert _get(stack, token).status_code == 200
    # The cache never keeps a token past its expiry.
    wait_for(lambda: _get(stack, token).status_code == 401, timeout=TOKEN_EXPIRATION + 15,
             interval=1, what="the token to expire")
    _assert_401(_get(stack, token))


@pytest.mark.db_agnostic
def test_keystone_down_is_503_and_recovers(stack, demo):
    ks = stack.stack.keystone
    token, _ = issue_token(stack.auth_url, stack.login("demo"))  # not yet cached
    ks.stop()
    try:
        resp = _get(stack, token)
        assert resp.status_code == 503, resp.text
        assert "identity service is unavailable" in resp.json()["serviceUnavailable"]["message"]
    finally:
        stack.call(ks.start())
    # Restarted on the same state dir: the same token is still valid.
    assert _get(stack, token).status_code == 200


@pytest.mark.db_agnostic
def test_no_workflow_history_holds_a_token_in_clear(stack, demo, catalog_ids):
    sid = boot(demo, catalog_ids, "secret-keeper")
    wait_status(demo, sid, {"ACTIVE"})
    demo.delete(f"/v2.1/servers/{sid}")
    wait_gone(demo, sid)
    assert ISSUED
    plain = temporalio.converter.default()

    async def scan() -> tuple[int, list[str], int]:
        # A client without the codec sees what Temporal stores.
        raw = await Client.connect(stack.stack.server.address, data_converter=plain)
        seen, leaks, encrypted = 0, [], 0
        async for wf in raw.list_workflows():
            history = await raw.get_workflow_handle(wf.id, run_id=wf.run_id).fetch_history()
            blob = b"".join(e.SerializeToString() for e in history.events)
            seen += 1
            if b"gAAAAA" in blob or any(t.encode() in blob for t in ISSUED):
                leaks.append(wf.id)
            attrs = history.events[0].workflow_execution_started_event_attributes
            if all(p.metadata.get("encoding") == ENCODING for p in attrs.input.payloads):
                encrypted += 1
        return seen, leaks, encrypted

    seen, leaks, encrypted = stack.call(scan(), timeout=120)
    assert seen >= 2 and leaks == [], leaks
    assert encrypted == seen

    # The replay tooling reads the encrypted history through the same codec.
    history = stack.call(stack.stack.client.get_workflow_handle(f"boot-{sid}").fetch_history())
    outcome = stack.call(replay_history(history,
                                        data_converter=data_converter(stack.stack.settings)))
    assert outcome.ok, outcome.error

