"""os-quota-class-sets (admin): the "default" class is every project's
defaults, other classes are kept but unused, and the keys follow 2.50/2.57."""

from __future__ import annotations

from api_support import assert_nova_error, mv

QCS = "/v2.1/os-quota-class-sets"


def test_quota_classes(admin, demo):
    old = admin.get(f"{QCS}/default").json()["quota_class_set"]
    assert old["id"] == "default" and "floating_ips" in old and "server_groups" not in old
    new = admin.get(f"{QCS}/default", headers=mv("2.57")).json()["quota_class_set"]
    assert "server_groups" in new and "floating_ips" not in new and "injected_files" not in new
    assert_nova_error(demo.get(f"{QCS}/default"), 403, "forbidden",
                      "os_compute_api:os-quota-class-sets:show")
    assert_nova_error(demo.put(f"{QCS}/default", json={"quota_class_set": {"cores": 1}}),
                      403, "forbidden")
    project = demo.keystone.project_id
    items = new["metadata_items"]
    try:
        updated = admin.put(f"{QCS}/default", headers=mv("2.57"), json={
            "quota_class_set": {"metadata_items": items + 1}}).json()["quota_class_set"]
        assert "id" not in updated and updated["metadata_items"] == items + 1
        # The default class is what every project gets unless given its own.
        defaults = demo.get(f"/v2.1/os-quota-sets/{project}/defaults").json()["quota_set"]
        assert defaults["metadata_items"] == items + 1
        assert demo.get(f"/v2.1/os-quota-sets/{project}").json()["quota_set"][
            "metadata_items"] == items + 1
    finally:
        admin.put(f"{QCS}/default", json={"quota_class_set": {"metadata_items": items}})
    # Another class is kept, but no project uses it.
    gold = admin.put(f"{QCS}/gold", json={"quota_class_set": {"metadata_items": 7}})
    assert gold.json()["quota_class_set"]["metadata_items"] == 7
    assert admin.get(f"{QCS}/gold").json()["quota_class_set"]["metadata_items"] == 7
    assert demo.get(f"/v2.1/os-quota-sets/{project}/defaults").json()["quota_set"][
        "metadata_items"] == items
    # nova-network's keys until 2.49, file injection's until 2.56; -1 is the floor.
    assert admin.put(f"{QCS}/gold", json={"quota_class_set": {"floating_ips": 3}}
                     ).status_code == 200
    assert_nova_error(admin.put(f"{QCS}/gold", headers=mv("2.50"), json={
        "quota_class_set": {"floating_ips": 3}}), 400, "badRequest", "floating_ips")
    assert_nova_error(admin.put(f"{QCS}/gold", headers=mv("2.57"), json={
        "quota_class_set": {"injected_files": 3}}), 400, "badRequest", "injected_files")
    assert_nova_error(admin.put(f"{QCS}/gold", json={"quota_class_set": {"cores": -2}}),
                      400, "badRequest")
