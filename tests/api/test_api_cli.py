"""The real ``openstack`` CLI against the live API, configured only by the
clouds.yaml that ``novaflow up`` writes: what a newcomer types must work.

The CLI takes 1-2 s to start and ``--wait`` polls every few seconds, so the
commands are few and each checks as much as a user would look at.
"""

from __future__ import annotations

import yaml
from api_support import boot, cinder_url, delete_all, wait_gone

from novaflow.clouds import CLOUDS


def test_stack_writes_a_clouds_yaml_with_password_clouds(stack):
    path = stack.stack.clouds_file
    clouds = yaml.safe_load(path.read_text())["clouds"]
    assert set(clouds) == set(CLOUDS) == {"novaflow", "novaflow-reader", "novaflow-admin"}
    for cloud, (user, project) in CLOUDS.items():
        entry = clouds[cloud]
        assert entry["auth_type"] == "password"
        assert entry["auth"]["auth_url"] == stack.auth_url
        assert (entry["auth"]["username"], entry["auth"]["project_name"]) == (user, project)
        # Every service is found through Keystone's catalog.
        assert not any(k.endswith("endpoint_override") for k in entry), entry
    assert path.stat().st_mode & 0o777 == 0o600


def test_flavor_list(osc):
    flavors = {f["Name"]: f for f in osc.json("flavor", "list")}
    assert flavors["m1.tiny"]["RAM"] == 512 and flavors["m1.tiny"]["VCPUs"] == 1


def test_server_lifecycle_with_the_cli(osc, demo):
    created = osc.json("server", "create", "--flavor", "m1.tiny", "--image", "cirros",
                       "--network", "private", "cli-vm1", "--wait")
    assert created["status"] == "ACTIVE", created
    server_id = created["id"]
    try:
        listed = {s["Name"]: s for s in osc.json("server", "list")}
        assert listed["cli-vm1"]["Status"] == "ACTIVE"
        assert listed["cli-vm1"]["Image"] == "cirros"
        assert listed["cli-vm1"]["Networks"]["private"][0].startswith("10.0.")

        shown = osc.json("server", "show", "cli-vm1")
        assert shown["id"] == server_id and shown["flavor"]["name"] == "m1.tiny"

        events = osc.json("server", "event", "list", "cli-vm1")
        assert [e["Action"] for e in events] == ["create"]
        # The action's request id is the one the create was answered with.
        actions = demo.get(f"/v2.1/servers/{server_id}/os-instance-actions").json()
        assert events[0]["Request ID"] == actions["instanceActions"][0]["request_id"]
    finally:
        osc("server", "delete", "--wait", server_id)
    assert demo.get(f"/v2.1/servers/{server_id}").status_code == 404


def test_server_group_create_with_anti_affinity(osc, demo):
    group = osc.json("server", "group", "create", "--policy", "anti-affinity", "cli-grp")
    assert group["policy"] == "anti-affinity" and group["name"] == "cli-grp"
    shown = demo.get(f"/v2.1/os-server-groups/{group['id']}").json()["server_group"]
    assert shown["policies"] == ["anti-affinity"] and shown["members"] == []
    assert demo.delete(f"/v2.1/os-server-groups/{group['id']}").status_code == 204


def test_boot_from_volume_with_the_cli(osc, demo):
    vol = osc.json("volume", "create", "--size", "1", "cli-vol")
    assert vol["status"] == "available"
    created = osc.json("server", "create", "--flavor", "m1.tiny", "--volume", "cli-vol",
                       "--network", "private", "cli-bfv", "--wait")
    server_id = created["id"]
    try:
        assert created["status"] == "ACTIVE", created
        assert created["image"] == "N/A (booted from volume)"
        assert [v["id"] for v in created["volumes_attached"]] == [vol["id"]]
        shown = demo.get(f"{cinder_url(demo)}/volumes/{vol['id']}").json()["volume"]
        assert shown["status"] == "in-use"
        assert shown["attachments"][0]["server_id"] == server_id
        assert shown["attachments"][0]["device"] == "/dev/vda"
    finally:
        demo.delete(f"/v2.1/servers/{server_id}")
        wait_gone(demo, server_id)
    # Released, not deleted: the volume outlives the server and is free again.
    assert demo.get(f"{cinder_url(demo)}/volumes/{vol['id']}").json()["volume"]["status"] \
        == "available"
    assert demo.delete(f"{cinder_url(demo)}/volumes/{vol['id']}").status_code == 202


def test_hypervisor_list_as_admin(osc, admin, stack):
    hypervisors = osc.json("hypervisor", "list", cloud="novaflow-admin")
    names = {h["Hypervisor Hostname"] for h in hypervisors}
    assert set(stack.stack.running_hosts) <= names


def test_compute_service_list_as_admin(osc, admin, stack):
    services = osc.json("compute", "service", "list", cloud="novaflow-admin")
    computes = {s["Host"]: s for s in services if s["Binary"] == "nova-compute"}
    for host in stack.stack.running_hosts:
        assert computes[host]["Status"] == "enabled"


def test_member_gets_a_clear_error_from_the_cli(osc):
    proc = osc("hypervisor", "list", check=False)
    assert proc.returncode != 0
    assert "403" in proc.stderr or "Policy" in proc.stderr, proc.stderr


def test_cli_user_sees_own_servers_only(osc, other, catalog_ids):
    sid = boot(other, catalog_ids, "eve-private")
    try:
        names = [s["Name"] for s in osc.json("server", "list")]
        assert "eve-private" not in names
    finally:
        delete_all(other, [sid])



def test_admin_sets_a_quota_by_project_name(osc, admin, stack):
    # The CLI resolves the project's name to its id through Keystone first.
    stack.ensure_user("cli-quota-user", "cli-quota")
    osc("quota", "set", "--instances", "7", "--cores", "9", "cli-quota",
        cloud="novaflow-admin")
    project = next(p for p in osc.json("project", "list", cloud="novaflow-admin")
                   if p["Name"] == "cli-quota")
    qs = f"/v2.1/os-quota-sets/{project['ID']}"
    try:
        quota = admin.get(qs).json()["quota_set"]
        assert (quota["instances"], quota["cores"]) == (7, 9)
    finally:
        admin.delete(qs)
