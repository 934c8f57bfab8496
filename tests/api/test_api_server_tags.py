"""Server tags (2.26+): the six routes, Nova's limits and texts, tags at
create (2.52), the four list filters, who may read and who may write, and the
openstack CLI's ``server set --tag``."""

from __future__ import annotations

from api_support import assert_nova_error, boot, delete_all, mv, wait_status

V = mv("2.26")


def test_tags_routes_limits_and_policy(demo, reader, other, admin, catalog_ids):
    sid = boot(demo, catalog_ids, "tagged", headers=mv("2.52"), tags=["web", "prod"])
    url = f"/v2.1/servers/{sid}/tags"
    try:
        wait_status(demo, sid, {"ACTIVE"})
        assert demo.get(url, headers=V).json() == {"tags": ["web", "prod"]}
        shown = demo.get(f"/v2.1/servers/{sid}", headers=V).json()["server"]
        assert shown["tags"] == ["web", "prod"]
        # Before 2.26 the routes do not exist and servers show no tags.
        assert_nova_error(demo.get(url, headers=mv("2.25")), 404, "itemNotFound")
        assert "tags" not in demo.get(f"/v2.1/servers/{sid}").json()["server"]
        resp = demo.put(f"{url}/db", headers=V)
        assert resp.status_code == 201 and resp.headers["Location"].endswith(f"{url}/db")
        assert demo.put(f"{url}/db", headers=V).status_code == 204  # already there
        assert demo.get(f"{url}/db", headers=V).status_code == 204
        assert_nova_error(demo.get(f"{url}/nope", headers=V), 404, "itemNotFound",
                          f"Server {sid} has no tag 'nope'")
        assert demo.delete(f"{url}/db", headers=V).status_code == 204
        assert_nova_error(demo.delete(f"{url}/db", headers=V), 404, "itemNotFound",
                          f"Instance {sid} has no tag 'db'")
        # Nova's limits: 60 characters, no ',' or '/', 50 tags a server.
        assert_nova_error(demo.put(f"{url}/{'x' * 61}", headers=V), 400, "badRequest",
                          "It must be a non empty string without characters '/' and ','")
        assert_nova_error(demo.put(f"{url}/a,b", headers=V), 400, "badRequest")
        assert_nova_error(demo.put(url, headers=V, json={"tags": ["t"] * 51}), 400,
                          "badRequest")
        assert_nova_error(demo.put(url, headers=V, json={"tags": ["a/b"]}), 400, "badRequest")
        many = [f"t{i}" for i in range(50)]
        assert demo.put(url, headers=V, json={"tags": many}).json() == {"tags": many}
        assert_nova_error(demo.put(f"{url}/one-more", headers=V), 400, "badRequest",
                          "The number of tags exceeded the per-server limit 50")
        assert demo.put(url, headers=V, json={"tags": ["a", "a", "b"]}).json() == \
            {"tags": ["a", "b"]}
        # Readers read, only members write; other projects see nothing.
        assert reader.get(url, headers=V).json() == {"tags": ["a", "b"]}
        assert_nova_error(reader.put(f"{url}/c", headers=V), 403, "forbidden",
                          "os_compute_api:os-server-tags:update")
        assert_nova_error(reader.delete(url, headers=V), 403, "forbidden")
        assert_nova_error(other.get(url, headers=V), 404, "itemNotFound")
        assert_nova_error(other.put(f"{url}/c", headers=V), 404, "itemNotFound")
        # Tags change only in a steady state (Nova's 409).
        assert admin.post(f"/v2.1/servers/{sid}/action",
                          json={"os-resetState": {"state": "error"}}).status_code == 202
        assert_nova_error(demo.put(f"{url}/c", headers=V), 409, "conflictingRequest",
                          f"Cannot 'update tag' instance {sid} while it is in vm_state error")
        assert_nova_error(demo.delete(url, headers=V), 409, "conflictingRequest")
        assert admin.post(f"/v2.1/servers/{sid}/action",
                          json={"os-resetState": {"state": "active"}}).status_code == 202
        assert demo.delete(url, headers=V).status_code == 204
        assert demo.get(url, headers=V).json() == {"tags": []}
        # tags at create is 2.52+.
        body = {"server": {"name": "x", "flavorRef": "1", "imageRef": catalog_ids["image"],
                           "networks": "none", "tags": ["a"]}}
        assert_nova_error(demo.post("/v2.1/servers", json=body, headers=mv("2.51")), 400,
                          "badRequest", "'tags' was unexpected")
        body["server"]["tags"] = ["bad/tag"]
        assert_nova_error(demo.post("/v2.1/servers", json=body, headers=mv("2.52")), 400,
                          "badRequest")
    finally:
        delete_all(demo, [sid])


def test_list_filters_by_tags(demo, catalog_ids):
    v = mv("2.52")
    ids = {name: boot(demo, catalog_ids, f"tagf-{name}", headers=v, tags=tags)
           for name, tags in (("ab", ["fa", "fb"]), ("a", ["fa"]), ("c", ["fc"]))}
    try:
        def names(query: str) -> set[str]:
            servers = demo.get(f"/v2.1/servers?name=^tagf-&{query}", headers=V).json()
            return {s["name"].removeprefix("tagf-") for s in servers["servers"]}

        assert names("tags=fa,fb") == {"ab"}
        assert names("tags-any=fb,fc") == {"ab", "c"}
        assert names("not-tags=fa,fb") == {"a", "c"}
        assert names("not-tags-any=fa") == {"c"}
        assert names("tags=fa&not-tags-any=fb") == {"a"}
        detail = demo.get("/v2.1/servers/detail?tags=fc", headers=V).json()["servers"]
        assert [(s["name"], s["tags"]) for s in detail] == [("tagf-c", ["fc"])]
    finally:
        delete_all(demo, list(ids.values()))


def test_server_tags_with_the_cli(osc, demo, catalog_ids):
    sid = boot(demo, catalog_ids, "cli-tags")
    try:
        wait_status(demo, sid, {"ACTIVE"})
        osc("--os-compute-api-version", "2.26", "server", "set", "--tag", "blue", sid)
        assert demo.get(f"/v2.1/servers/{sid}/tags", headers=V).json() == {"tags": ["blue"]}
    finally:
        delete_all(demo, [sid])
