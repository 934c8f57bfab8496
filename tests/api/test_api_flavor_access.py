"""os-flavor-access: private flavors are seen and booted only by the projects
given access (addTenantAccess / removeTenantAccess, admin only), with Nova's
texts, and the openstack CLI's ``flavor set --project``."""

from __future__ import annotations

import uuid

from api_support import assert_nova_error, boot, delete_all, mv, wait_status


def _action(client, fid, body, version="2.1"):
    return client.post(f"/v2.1/flavors/{fid}/action", json=body, headers=mv(version))


def _private_flavor(admin) -> str:
    fid = f"priv-{uuid.uuid4().hex[:8]}"
    resp = admin.post("/v2.1/flavors", json={"flavor": {
        "name": fid, "id": fid, "ram": 64, "vcpus": 1, "disk": 1,
        "os-flavor-access:is_public": False}})
    assert resp.status_code == 200, resp.text
    return fid


def test_private_flavor_access(admin, demo, other, catalog_ids):
    fid = _private_flavor(admin)
    project = demo.keystone.project_id
    access = f"/v2.1/flavors/{fid}/os-flavor-access"
    sid = None
    try:
        # Not granted: invisible and unbootable for members.
        assert fid not in {f["id"] for f in demo.get("/v2.1/flavors").json()["flavors"]}
        assert_nova_error(demo.get(f"/v2.1/flavors/{fid}"), 404, "itemNotFound")
        body = {"server": {"name": "p", "flavorRef": fid, "imageRef": catalog_ids["image"],
                           "networks": "none"}}
        assert_nova_error(demo.post("/v2.1/servers", json=body), 400, "badRequest",
                          f"Flavor {fid} could not be found.")
        assert admin.get(access).json() == {"flavor_access": []}
        # Granting is the admin's; the project must exist in Keystone.
        assert_nova_error(_action(demo, fid, {"addTenantAccess": {"tenant": project}}), 403,
                          "forbidden", "os_compute_api:os-flavor-access:add_tenant_access")
        assert_nova_error(demo.get(access), 403, "forbidden", "os_compute_api:os-flavor-access")
        assert_nova_error(_action(admin, fid, {"addTenantAccess": {"tenant": "nosuchproj"}}),
                          400, "badRequest", "Project ID nosuchproj is not a valid project.")
        granted = _action(admin, fid, {"addTenantAccess": {"tenant": project}}).json()
        assert granted == {"flavor_access": [{"flavor_id": fid, "tenant_id": project}]}
        assert_nova_error(_action(admin, fid, {"addTenantAccess": {"tenant": project}}), 409,
                          "conflictingRequest",
                          f"Flavor access already exists for flavor {fid} and project "
                          f"{project} combination.")
        assert_nova_error(_action(admin, fid, {"addTenantAccess": {"tenant": "bad id!"}}),
                          400, "badRequest")
        assert_nova_error(_action(admin, fid, {"grant": {"tenant": project}}), 400,
                          "badRequest")
        # Granted: the project sees and boots it; others still do not.
        assert fid in {f["id"] for f in demo.get("/v2.1/flavors").json()["flavors"]}
        shown = demo.get(f"/v2.1/flavors/{fid}").json()["flavor"]
        assert shown["os-flavor-access:is_public"] is False
        assert fid not in {f["id"] for f in other.get("/v2.1/flavors").json()["flavors"]}
        assert_nova_error(other.get(f"/v2.1/flavors/{fid}"), 404, "itemNotFound")
        sid = boot(demo, catalog_ids, "on-private", flavor=fid)
        wait_status(demo, sid, {"ACTIVE"})
        # Revoked: gone again (the running server keeps its flavor snapshot).
        assert _action(admin, fid, {"removeTenantAccess": {"tenant": project}}).json() == \
            {"flavor_access": []}
        assert_nova_error(_action(admin, fid, {"removeTenantAccess": {"tenant": project}}),
                          404, "itemNotFound",
                          f"Flavor access not found for {fid} / {project} combination.")
        assert_nova_error(demo.get(f"/v2.1/flavors/{fid}"), 404, "itemNotFound")
        assert demo.get(f"/v2.1/servers/{sid}").json()["server"]["status"] == "ACTIVE"
    finally:
        if sid:
            delete_all(demo, [sid])
        admin.delete(f"/v2.1/flavors/{fid}")


def test_public_flavors_have_no_access_list(admin):
    assert_nova_error(admin.get("/v2.1/flavors/1/os-flavor-access"), 404, "itemNotFound",
                      "Access list not available for public flavors.")
    project = admin.keystone.project_id
    assert_nova_error(_action(admin, "1", {"addTenantAccess": {"tenant": project}}, "2.7"),
                      409, "conflictingRequest", "Can not add access to a public flavor.")
    assert_nova_error(admin.get("/v2.1/flavors/nope/os-flavor-access"), 404, "itemNotFound")


def test_flavor_access_with_the_cli(osc, admin, demo):
    fid = _private_flavor(admin)
    try:
        osc("flavor", "set", "--project", demo.keystone.project_id, fid, cloud="novaflow-admin")
        assert admin.get(f"/v2.1/flavors/{fid}/os-flavor-access").json()["flavor_access"] == \
            [{"flavor_id": fid, "tenant_id": demo.keystone.project_id}]
        assert demo.get(f"/v2.1/flavors/{fid}").status_code == 200
    finally:
        admin.delete(f"/v2.1/flavors/{fid}")
