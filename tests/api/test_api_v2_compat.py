"""Nova's /v2 endpoint: the v2.1 API in legacy-v2 compatible mode (no
microversions, no version headers in answers, unknown body properties
dropped instead of refused), and its version document."""

from __future__ import annotations

from api_support import assert_nova_error, mv, wait_gone

_VERSION_HEADERS = ("openstack-api-version", "x-openstack-nova-api-version")


def test_v2_version_document_is_nova_s(anon, stack):
    for path in ("/v2", "/v2/"):
        doc = anon.get(path).json()["version"]
        assert doc == {
            "id": "v2.0", "status": "DEPRECATED", "version": "", "min_version": "",
            "updated": "2025-07-04T12:00:00Z",
            "links": [{"rel": "self", "href": f"{stack.api_url}/v2/"},
                      {"rel": "describedby", "type": "text/html",
                       "href": "http://docs.openstack.org/"}],
            "media-types": [{"base": "application/json",
                             "type": "application/vnd.openstack.compute+json;version=2"}]}
    # Nova's /v2/versions/{id} is the versions controller in legacy mode: v2.0's document.
    assert anon.get("/v2/versions/v2.1").json()["version"]["id"] == "v2.0"


def test_servers_through_v2_are_served_as_the_base_version(demo, catalog_ids, stack):
    body = {"server": {"name": "v2-vm", "flavorRef": "1", "imageRef": catalog_ids["image"],
                       "networks": [{"uuid": catalog_ids["network"]}],
                       "not_a_nova_field": 1, "description": "2.19+: dropped at 2.1"},
            "also_unknown": {}}
    # /v2.1 refuses the unknown properties; /v2 drops them, as Nova's soft validation.
    assert_nova_error(demo.post("/v2.1/servers", json=body), 400, "badRequest")
    resp = demo.post("/v2/servers", json=body, headers=mv("2.79"))
    assert resp.status_code == 202, resp.text
    assert not {h for h in _VERSION_HEADERS if h in resp.headers}
    sid = resp.json()["server"]["id"]
    try:
        shown = demo.get(f"/v2/servers/{sid}", headers=mv("2.79"))
        assert shown.status_code == 200
        assert not {h for h in _VERSION_HEADERS if h in shown.headers}
        assert "openstack-api-version" not in shown.headers.get("vary", "").lower()
        server = shown.json()["server"]
        # 2.1's shape whatever the header asked: no 2.9 locked, no 2.19 description
        assert "locked" not in server and "description" not in server
        assert server["links"][0]["href"] == f"{stack.api_url}/v2/servers/{sid}"
        assert sid in {s["id"] for s in demo.get("/v2/servers").json()["servers"]}
        at_219 = demo.get(f"/v2.1/servers/{sid}", headers=mv("2.19")).json()["server"]
        assert at_219["description"] is None  # the dropped field was never set
        # A route of a later microversion is not there at 2.1.
        assert_nova_error(demo.get(f"/v2/servers/{sid}/topology", headers=mv("2.78")),
                          404, "itemNotFound")
        # The /v2.1 endpoint still negotiates.
        assert demo.get(f"/v2.1/servers/{sid}", headers=mv("2.79")).headers[
            "openstack-api-version"] == "compute 2.79"
    finally:
        assert demo.delete(f"/v2/servers/{sid}").status_code == 204
        wait_gone(demo, sid)


def test_v2_extensions_are_nova_s_legacy_list(demo):
    v21 = demo.get("/v2.1/extensions").json()["extensions"]
    v2 = demo.get("/v2/extensions").json()["extensions"]
    assert len(v2) == len(v21) + 1
    assert demo.get("/v2/extensions/OS-EXT-VIF-NET").json()["extension"]["name"] == \
        "ExtendedVIFNet"
    assert_nova_error(demo.get("/v2.1/extensions/OS-EXT-VIF-NET"), 404, "itemNotFound")


def test_v2_needs_a_token(anon):
    assert_nova_error(anon.get("/v2/servers"), 401, "unauthorized")
