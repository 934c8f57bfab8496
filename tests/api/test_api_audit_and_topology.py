"""os-instance_usage_audit_log (admin; every host "not run", novaflow runs no
audit task) and /servers/{id}/topology (2.78; guests have no NUMA cells)."""

from __future__ import annotations

from api_support import assert_nova_error, boot, delete_all, mv

LOG = "/v2.1/os-instance_usage_audit_log"


def test_usage_audit_log(admin, demo, stack):
    log = admin.get(LOG).json()["instance_usage_audit_logs"]
    hosts = set(stack.stack.running_hosts)
    assert hosts <= set(log["hosts_not_run"]) and log["num_hosts_done"] == 0
    assert log["overall_status"] == f"0 of {log['num_hosts']} hosts done. 0 errors."
    june = admin.get(f"{LOG}/2012-06-15 10:00:00").json()["instance_usage_audit_log"]
    assert (june["period_beginning"], june["period_ending"]) == \
        ("2012-05-01 00:00:00", "2012-06-01 00:00:00")
    first = admin.get(f"{LOG}/2013-01-01 00:00:00.000").json()["instance_usage_audit_log"]
    assert (first["period_beginning"], first["period_ending"]) == \
        ("2012-11-01 00:00:00", "2012-12-01 00:00:00")
    assert_nova_error(admin.get(f"{LOG}/yesterday"), 400, "badRequest",
                      "Invalid timestamp for date yesterday")
    assert_nova_error(demo.get(LOG), 403, "forbidden",
                      "os_compute_api:os-instance-usage-audit-log:list")


def test_server_topology(demo, other, catalog_ids):
    sid = boot(demo, catalog_ids, "topo", networks="none", headers=mv("2.37"))
    try:
        url = f"/v2.1/servers/{sid}/topology"
        assert demo.get(url, headers=mv("2.78")).json() == {"nodes": [], "pagesize_kb": None}
        assert_nova_error(demo.get(url, headers=mv("2.77")), 404, "itemNotFound")
        assert_nova_error(other.get(url, headers=mv("2.78")), 404, "itemNotFound")
    finally:
        delete_all(demo, [sid])
