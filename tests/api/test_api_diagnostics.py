"""GET /servers/{id}/diagnostics on the test driver: admin only, read on the
server's host; the libvirt driver's flat dict before 2.48 and Nova's
standard format from 2.48 (both held to tempest's schemas by the response
hook); Nova's 409 for a guest that is not running; the openstack CLI's
``server show --diagnostics``."""

from __future__ import annotations

from api_support import assert_nova_error, boot, delete_all, mv, wait_status


def _diagnostics(client, sid, version="2.1"):
    return client.get(f"/v2.1/servers/{sid}/diagnostics", headers=mv(version))


def _mac(admin, sid) -> str:
    (port,) = admin.get("/networking/v2.0/ports", params={"device_id": sid}).json()["ports"]
    return port["mac_address"]


def test_diagnostics_are_read_on_the_host_in_both_formats(demo, admin, osc, catalog_ids):
    sid = boot(demo, catalog_ids, "diag-vm", flavor="2")  # m1.small: 1 vCPU, 2048 MiB
    try:
        wait_status(demo, sid, {"ACTIVE"})
        assert_nova_error(_diagnostics(demo, sid), 403, "forbidden",
                          "os_compute_api:os-server-diagnostics")

        flat = _diagnostics(admin, sid)
        assert flat.status_code == 200, flat.text
        body = flat.json()
        assert body["memory"] == 2048 * 1024  # KiB, as libvirt's maxMemory
        assert body["cpu0_time"] > 0
        for key in ("read_req", "read", "write_req", "write", "errors"):
            assert isinstance(body[f"vda_{key}"], int)
        nic_keys = [k for k in body if k.endswith("_rx_packets")]
        assert len(nic_keys) == 1  # the test driver's tap device of the one port

        std = _diagnostics(admin, sid, "2.48")
        assert std.status_code == 200, std.text
        d = std.json()
        assert (d["state"], d["driver"], d["hypervisor_os"]) == ("running", "libvirt", "linux")
        assert d["hypervisor"] == "test" and d["config_drive"] is False
        assert (d["num_cpus"], d["num_disks"], d["num_nics"]) == (1, 1, 1)
        assert d["cpu_details"][0]["id"] == 0 and d["cpu_details"][0]["time"] > 0
        assert d["memory_details"] == {"maximum": 2048, "used": 2048}
        assert d["nic_details"][0]["mac_address"] == _mac(admin, sid)
        assert d["nic_details"][0]["rx_rate"] is None
        assert isinstance(d["disk_details"][0]["read_bytes"], int)
        assert isinstance(d["uptime"], int) and d["uptime"] >= 0

        shown = osc.json("server", "show", "--diagnostics", sid, cloud="novaflow-admin")
        # openstacksdk asks for 2.48: the standard format
        assert (shown["state"], shown["num_cpus"], shown["num_nics"]) == ("running", 1, 1), shown
        assert shown["memory_details"] == {"maximum": 2048, "used": 2048}, shown

        assert demo.post(f"/v2.1/servers/{sid}/action",
                         json={"os-stop": None}).status_code == 202
        wait_status(demo, sid, {"SHUTOFF"})
        for version in ("2.1", "2.48"):
            assert_nova_error(
                _diagnostics(admin, sid, version), 409, "conflictingRequest",
                f"Cannot 'get_diagnostics' instance {sid} while it is in power state shutdown")
    finally:
        delete_all(demo, [sid])


def test_diagnostics_of_a_missing_server_is_not_found(admin):
    assert_nova_error(admin.get("/v2.1/servers/00000000-0000-0000-0000-000000000000/"
                                "diagnostics"), 404, "itemNotFound")
