"""Server lists as Nova sorts and pages them: several sort_key/sort_dir,
ignored and refused keys by microversion, admin-only keys, marker paging in
the chosen order (servers_links), and changes-before (2.66)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from api_support import assert_nova_error, boot, delete_all, mv


def _names(client, query: str, headers=None) -> list[str]:
    resp = client.get(f"/v2.1/servers?{query}", headers=headers or {})
    assert resp.status_code == 200, resp.text
    return [s["name"] for s in resp.json()["servers"]]


def test_sorting_paging_and_changes_before(project_client, catalog_ids, admin):
    client = project_client("sorter:sorting")
    started = datetime.now(UTC) - timedelta(seconds=1)
    ids = [boot(client, catalog_ids, name, networks="none", headers=mv("2.37"))
           for name in ("s-b", "s-a", "s-c")]
    try:
        assert _names(client, "") == ["s-c", "s-a", "s-b"]  # newest first by default
        assert _names(client, "sort_key=display_name&sort_dir=asc") == ["s-a", "s-b", "s-c"]
        assert _names(client, "sort_key=display_name") == ["s-c", "s-b", "s-a"]  # desc
        # Two keys: the first ties (one project), the second orders.
        assert _names(client, "sort_key=project_id&sort_key=display_name"
                              "&sort_dir=asc&sort_dir=desc") == ["s-c", "s-b", "s-a"]
        # Paging follows the sort: each page's next link carries the marker.
        seen, url = [], "/v2.1/servers?sort_key=display_name&sort_dir=asc&limit=2"
        while url:
            body = client.get(url.removeprefix(str(client.base_url).rstrip("/"))).json()
            seen += [s["name"] for s in body["servers"]]
            url = (body.get("servers_links") or [{}])[0].get("href")
        assert seen == ["s-a", "s-b", "s-c"]
        # Ignored keys are dropped before 2.75 and refused from it.
        assert _names(client, "sort_key=vcpus&sort_key=display_name&sort_dir=desc"
                              "&sort_dir=asc") == ["s-a", "s-b", "s-c"]
        assert_nova_error(client.get("/v2.1/servers?sort_key=vcpus", headers=mv("2.75")),
                          400, "badRequest", "sort_key")
        assert_nova_error(client.get("/v2.1/servers?sort_key=bogus"), 400, "badRequest")
        assert_nova_error(client.get("/v2.1/servers?sort_key=display_name&sort_dir=up"), 400,
                          "badRequest", "sort_dir")
        assert_nova_error(client.get("/v2.1/servers?sort_dir=asc&sort_dir=desc"), 400,
                          "badRequest", "Sort direction size exceeds sort key size")
        assert_nova_error(client.get("/v2.1/servers?sort_key=host"), 403, "forbidden",
                          "Only administrators can sort servers by host")
        project = client.keystone.project_id
        assert len(_names(admin, f"all_tenants=1&project_id={project}&sort_key=host")) == 3
        # changes-before (2.66): only what changed up to then; ignored before 2.66.
        before = started.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert _names(client, f"changes-before={before}", mv("2.66")) == []
        assert len(_names(client, f"changes-before={before}", mv("2.65"))) == 3
        assert_nova_error(client.get(f"/v2.1/servers?changes-since=2100-01-01T00:00:00Z"
                                     f"&changes-before={before}", headers=mv("2.66")), 400,
                          "badRequest", "changes-since must be less than or equal to")
    finally:
        delete_all(client, ids)
