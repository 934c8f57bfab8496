"""A server's addresses (/ips), its metadata-service password
(os-server-password) and os-simple-tenant-usage (all projects and one, the
period, 2.40 paging), with the openstack CLI's ``usage list``/``usage show``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from api_support import assert_nova_error, boot, delete_all, mv, wait_status

USAGE = "/v2.1/os-simple-tenant-usage"


def _ago(minutes: int) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S")


def test_addresses_password_and_usage(demo, reader, other, admin, catalog_ids, osc):
    sid = boot(demo, catalog_ids, "extras")
    try:
        shown = wait_status(demo, sid, {"ACTIVE"})
        label = next(iter(shown["addresses"]))
        plain = [{"version": a["version"], "addr": a["addr"]} for a in shown["addresses"][label]]
        assert demo.get(f"/v2.1/servers/{sid}/ips").json() == {"addresses": {label: plain}}
        assert reader.get(f"/v2.1/servers/{sid}/ips/{label}").json() == {label: plain}
        assert_nova_error(demo.get(f"/v2.1/servers/{sid}/ips/nonet"), 404, "itemNotFound",
                          "Instance is not a member of specified network")
        assert_nova_error(other.get(f"/v2.1/servers/{sid}/ips"), 404, "itemNotFound")

        pw = f"/v2.1/servers/{sid}/os-server-password"
        assert demo.get(pw).json() == {"password": ""}
        assert_nova_error(reader.delete(pw), 403, "forbidden",
                          "os_compute_api:os-server-password:clear")
        assert demo.delete(pw).status_code == 204
        assert_nova_error(other.get(pw), 404, "itemNotFound")

        # Usage: the project's readers see their own, admins everyone's.
        project = demo.keystone.project_id
        mine = demo.get(f"{USAGE}/{project}?start={_ago(60)}").json()["tenant_usage"]
        usage = {u["instance_id"]: u for u in mine["server_usages"]}[sid]
        assert (usage["flavor"], usage["vcpus"], usage["state"]) == ("m1.tiny", 1, "active")
        assert 0 < usage["hours"] < 1 and mine["total_hours"] >= usage["hours"]
        assert mine["tenant_id"] == project and mine["total_vcpus_usage"] > 0
        assert reader.get(f"{USAGE}/{project}").status_code == 200
        assert_nova_error(other.get(f"{USAGE}/{project}"), 403, "forbidden",
                          "os_compute_api:os-simple-tenant-usage:show")
        assert_nova_error(demo.get(USAGE), 403, "forbidden",
                          "os_compute_api:os-simple-tenant-usage:list")
        everyone = admin.get(f"{USAGE}?start={_ago(60)}&detailed=1").json()["tenant_usages"]
        assert sid in {s["instance_id"] for u in everyone for s in u["server_usages"]}
        brief = admin.get(f"{USAGE}?start={_ago(60)}").json()["tenant_usages"]
        assert brief and "server_usages" not in brief[0]
        # A period that ends before the server started counts nothing.
        old = demo.get(f"{USAGE}/{project}?start={_ago(600)}&end={_ago(500)}").json()
        assert sid not in {u["instance_id"] for u in
                           old["tenant_usage"].get("server_usages", [])}
        assert_nova_error(demo.get(f"{USAGE}/{project}?start={_ago(1)}&end={_ago(2)}"), 400,
                          "badRequest", "The start time cannot occur after the end time.")
        assert_nova_error(demo.get(f"{USAGE}/{project}?start=yesterday"), 400, "badRequest")
        # 2.40: paging over servers, with a next link on a full page.
        paged = admin.get(f"{USAGE}?start={_ago(60)}&limit=1", headers=mv("2.40")).json()
        link = paged["tenant_usages_links"][0]
        assert link["rel"] == "next" and "marker=" in link["href"] and "limit=1" in link["href"]
        assert "tenant_usages_links" not in admin.get(f"{USAGE}?limit=1").json()
        assert_nova_error(admin.get(f"{USAGE}?marker=nope", headers=mv("2.40")), 400,
                          "badRequest")
        listed = osc.json("usage", "list", "--start", _ago(60)[:10], cloud="novaflow-admin")
        assert project in {row["Project"] for row in listed}
    finally:
        delete_all(demo, [sid])
    # A deleted server still counts for the time it ran.
    ended = demo.get(f"{USAGE}/{project}?start={_ago(60)}").json()["tenant_usage"]
    gone = {u["instance_id"]: u for u in ended["server_usages"]}[sid]
    assert gone["state"] == "terminated" and gone["ended_at"] is not None
