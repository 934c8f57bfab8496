"""Images from the real Glance of the embedded stack: the catalog names it,
the first start uploaded ``cirros`` with the properties Nova reads, and
Nova's image checks at boot read it (exists for the project, active,
min_ram/min_disk against the flavor, shared images by membership)."""

from __future__ import annotations

import pytest
from api_support import assert_nova_error, delete_all, wait_status

from novaflow.images import GiB, GlanceImage, boot_refusal


def upload(glance_client, name: str, visibility: str = "private", **fields) -> str:
    """A 1 KiB raw image, active, owned by the client's project."""
    made = glance_client.post("/images", json={"name": name, "visibility": visibility,
                                               "disk_format": "raw",
                                               "container_format": "bare", **fields})
    assert made.status_code == 201, made.text
    image_id = made.json()["id"]
    up = glance_client.put(f"/images/{image_id}/file", content=b"\0" * 1024,
                           headers={"Content-Type": "application/octet-stream"})
    assert up.status_code == 204, up.text
    return image_id


def boot_body(image_id: str, catalog_ids: dict, flavor: str = "1") -> dict:
    return {"server": {"name": "glance-check", "flavorRef": flavor, "imageRef": image_id,
                       "networks": [{"uuid": catalog_ids["network"]}]}}


@pytest.fixture(scope="module")
def made(glance):
    """Images made for this module, deleted at its end."""
    ids: list[tuple[str, str]] = []
    yield ids
    for user, image_id in ids:
        glance(user).delete(f"/images/{image_id}")


def test_the_catalog_names_a_real_glance_with_cirros(stack, glance, catalog_ids):
    versions = glance("demo").get(f"{stack.glance_url}/versions").json()["versions"]
    assert any(v["id"].startswith("v2.") and v["status"] == "CURRENT" for v in versions)
    (cirros,) = glance("demo").get("/images", params={"name": "cirros"}).json()["images"]
    assert cirros["id"] == catalog_ids["image"]
    assert (cirros["status"], cirros["visibility"], cirros["disk_format"]) == \
        ("active", "public", "qcow2")
    assert (cirros["min_disk"], cirros["min_ram"]) == (1, 64)
    assert cirros["hw_architecture"] == "x86_64" and cirros["os_distro"] == "cirros"
    assert cirros["os_hash_algo"] == "sha512" and cirros["size"] > 0
    # The API's old stand-in is gone: only the catalog leads to images.
    assert glance("demo").get(f"{stack.api_url}/image/v2/images").status_code == 404


def test_boot_refuses_images_the_flavor_cannot_take(demo, glance, catalog_ids, made):
    big_ram = upload(glance("demo"), "needs-ram", min_ram=4096)
    big_disk = upload(glance("demo"), "needs-disk", min_disk=2)
    made += [("demo", big_ram), ("demo", big_disk)]
    assert_nova_error(demo.post("/v2.1/servers", json=boot_body(big_ram, catalog_ids)),
                      400, "badRequest", "Flavor's memory is too small for requested image.")
    assert_nova_error(
        demo.post("/v2.1/servers", json=boot_body(big_disk, catalog_ids)), 400, "badRequest",
        "Flavor's disk is smaller than the minimum size specified in image metadata. "
        f"Flavor disk is {GiB} bytes, minimum size is {2 * GiB} bytes.")


def test_a_deactivated_image_is_refused(demo, admin, glance, catalog_ids, made):
    image_id = upload(glance("demo"), "deactivated")
    made.append(("demo", image_id))
    done = glance("admin").post(f"/images/{image_id}/actions/deactivate")
    assert done.status_code == 204, done.text
    assert_nova_error(demo.post("/v2.1/servers", json=boot_body(image_id, catalog_ids)),
                      400, "badRequest", f"Image {image_id} is not active.")


def test_private_images_of_another_project_are_not_found_until_shared(
        demo, other, glance, catalog_ids, made, demo_project):
    image_id = upload(glance("other"), "others-private")
    made.append(("other", image_id))
    assert_nova_error(demo.post("/v2.1/servers", json=boot_body(image_id, catalog_ids)),
                      400, "badRequest", f"Image {image_id} could not be found.")
    # Shared with demo's project (Glance's members API): demo may boot it.
    assert glance("other").patch(
        f"/images/{image_id}", json=[{"op": "replace", "path": "/visibility",
                                      "value": "shared"}],
        headers={"Content-Type": "application/openstack-images-v2.1-json-patch"}
    ).status_code == 200
    member = glance("other").post(f"/images/{image_id}/members",
                                  json={"member": demo_project})
    assert member.status_code == 200, member.text
    resp = demo.post("/v2.1/servers", json=boot_body(image_id, catalog_ids))
    assert resp.status_code == 202, resp.text
    sid = resp.json()["server"]["id"]
    try:
        wait_status(demo, sid, {"ACTIVE"})
    finally:
        delete_all(demo, [sid])


def _image(size: int = 0, min_disk: int = 0, min_ram: int = 0, status: str = "active"):
    return GlanceImage(id="i-1", name="i", status=status, visibility="public", owner=None,
                       size=size, min_disk=min_disk, min_ram=min_ram)


def test_nova_boot_checks_on_the_image():
    assert boot_refusal(_image(), 512, 1) is None
    assert boot_refusal(_image(status="queued"), 512, 1) == "Image i-1 is not active."
    assert boot_refusal(_image(size=2 * GiB), 512, 1) == (
        "Flavor's disk is too small for requested image. Flavor disk is "
        f"{GiB} bytes, image is {2 * GiB} bytes.")
    # A 0 GB root disk, or a volume to boot from, is not checked against the image.
    assert boot_refusal(_image(size=2 * GiB, min_disk=5), 512, 0) is None
    assert boot_refusal(_image(size=2 * GiB, min_disk=5), 512, 1, volume_backed=True) is None
    assert boot_refusal(_image(min_ram=1024), 512, 0) == \
        "Flavor's memory is too small for requested image."
