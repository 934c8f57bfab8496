"""The metadata service as a guest reaches it through Neutron's metadata proxy
(this test plays the proxy): signed requests get the instance's OpenStack and
EC2 trees; unsigned, forged, unknown and cross-project ones are refused; the
password a guest posts is what os-server-password shows."""

from __future__ import annotations

import base64

import httpx
from api_support import boot, delete_all, ssh_public_key, wait_status

from api.metadata_service import sign


def test_signed_requests_read_the_instance_and_others_are_refused(stack, demo, catalog_ids):
    settings = stack.stack.settings
    secret = settings.effective_metadata_secret()
    md = httpx.Client(base_url=f"http://{settings.metadata_host}:{settings.metadata_port}",
                      timeout=30)
    key = ssh_public_key()
    assert demo.post("/v2.1/os-keypairs", json={"keypair": {
        "name": "md-key", "public_key": key}}).status_code == 200
    user_data = b"#!/bin/sh\necho hello\n"
    sid = boot(demo, catalog_ids, "md-guest", key_name="md-key",
               user_data=base64.b64encode(user_data).decode(), metadata={"role": "db"})
    project = demo.keystone.project_id

    def get(path: str, instance: str = sid, tenant: str = project, signature: str | None = None):
        headers = {"X-Instance-ID": instance, "X-Tenant-ID": tenant,
                   "X-Instance-ID-Signature": sign(secret, instance)
                   if signature is None else signature}
        return md.get(path, headers=headers)

    try:
        shown = wait_status(demo, sid, {"ACTIVE"})
        assert "latest" in md.get("/").text.split("\n")  # the version list is open
        # The proxy's proof is checked before anything is read.
        assert md.get("/openstack/latest/meta_data.json").status_code == 400
        assert get("/openstack/latest/meta_data.json", signature="").status_code == 403
        forged = sign("not-the-secret", sid)
        assert get("/openstack/latest/meta_data.json", signature=forged).status_code == 403
        other_id = "00000000-0000-0000-0000-000000000000"
        assert get("/openstack/latest/meta_data.json", instance=other_id).status_code == 404
        assert get("/openstack/latest/meta_data.json", tenant="someone-else").status_code == 404

        meta = get("/openstack/latest/meta_data.json").json()
        assert (meta["uuid"], meta["name"], meta["project_id"]) == (sid, "md-guest", project)
        assert meta["meta"] == {"role": "db"} and meta["public_keys"] == {"md-key": key}
        assert meta["keys"] == [{"name": "md-key", "type": "ssh", "data": key}]
        assert get("/openstack/latest/user_data").content == user_data
        assert "user_data" in get("/openstack/latest").text.split("\n")
        net = get("/openstack/2018-08-27/network_data.json").json()
        addr = next(iter(shown["addresses"].values()))[0]
        assert net["links"][0]["ethernet_mac_address"] == addr["OS-EXT-IPS-MAC:mac_addr"]
        assert net["networks"][0]["ip_address"] == addr["addr"]
        assert get("/openstack/latest/vendor_data2.json").json() == {}
        # The EC2-compatible tree.
        assert get("/latest/meta-data/instance-id").text.startswith("i-")
        assert get("/latest/meta-data/local-ipv4").text == addr["addr"]
        assert get("/latest/meta-data/public-keys/").text == "0=md-key"
        assert get("/latest/meta-data/public-keys/0/openssh-key").text == key
        assert get("/2009-04-04/user-data").content == user_data
        assert get("/latest/meta-data/nope").status_code == 404
        # The guest posts its encrypted password once; the API shows and clears it.
        pw_headers = {"X-Instance-ID": sid, "X-Tenant-ID": project,
                      "X-Instance-ID-Signature": sign(secret, sid)}
        assert md.post("/openstack/latest/password", content=b"x" * 257,
                       headers=pw_headers).status_code == 400
        assert md.post("/openstack/latest/password", content=b"c2VjcmV0",
                       headers=pw_headers).status_code == 200
        assert md.post("/openstack/latest/password", content=b"again",
                       headers=pw_headers).status_code == 409
        assert get("/openstack/latest/password").text == "c2VjcmV0"
        url = f"/v2.1/servers/{sid}/os-server-password"
        assert demo.get(url).json() == {"password": "c2VjcmV0"}
        assert demo.delete(url).status_code == 204
        assert get("/openstack/latest/password").text == ""
    finally:
        delete_all(demo, [sid])
        demo.delete("/v2.1/os-keypairs/md-key")
        md.close()
