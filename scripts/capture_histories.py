"""Regenerate tests/replay/histories/*.json from real runs.

Starts an embedded stack of its own (real Temporal dev server, real libvirt
test-driver hosts, real API) laid out so each failure really happens: a host
whose hypervisor refuses spawns, zones where every host fails, a host whose
worker is gone, a slow host to delete a build on.  Each scenario drives the
API over HTTP, waits for the workflow to close and saves its history.

    .venv/bin/python scripts/capture_histories.py [--out tests/replay/histories]

Run it after a deliberate workflow change (see README: versioning with
workflow.patched) to record the new shape; the replay tests then hold every
later change to it.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import re
import socket
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import httpx
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from activities.hypervisor.faults import FaultInjectingDriver
from novaflow.codec import decrypt_all
from novaflow.settings import Settings
from novaflow.temporal_client import payload_codec
from schema.models import Flavor
from workers import sim_hosts
from workers.host_runner import libvirt_driver_factory
from workers.sim_hosts import SimHost
from workers.stack import EmbeddedStack

HOSTS = [
    SimHost("host-a", 16, 32768, 500, "nova"),
    SimHost("host-b", 16, 32768, 500, "nova"),
    SimHost("flaky-1", 16, 65536, 500, "retry"),
    SimHost("steady-1", 16, 16384, 500, "retry"),
    SimHost("bad-1", 16, 32768, 500, "doomed"),
    SimHost("bad-2", 16, 32768, 500, "doomed"),
    SimHost("ghost-1", 16, 65536, 500, "ghost"),
    SimHost("steady-2", 16, 16384, 500, "ghost"),
    SimHost("slow-1", 16, 32768, 500, "slow"),
    SimHost("lonely-1", 16, 32768, 500, "lonely"),
]
FAULTS = {"flaky-1": {"faults": {"spawn"}}, "bad-1": {"faults": {"spawn"}},
          "bad-2": {"faults": {"spawn"}}, "slow-1": {"delays": {"spawn": 4.0}}}
# Volume attach: a host whose hypervisor refuses every hot-plug.
HOSTS.append(SimHost("volfail-1", 16, 32768, 500, "volfail"))
FAULTS["volfail-1"] = {"faults": {"attach_volume"}}


def driver_factory(host: SimHost, uri: str, state_dir: Path):
    if host.name in FAULTS:
        return libvirt_driver_factory(host, uri, state_dir,
                                      partial(FaultInjectingDriver, **FAULTS[host.name]))
    return libvirt_driver_factory(host, uri, state_dir)


def login(stack: EmbeddedStack, user: str, project: str) -> str:
    """A Keystone token of one of the stack's users (password login)."""
    auth = v3.Password(auth_url=stack.settings.keystone_auth_url(), username=user,
                       password=stack.passwords[user], project_name=project,
                       user_domain_id="default", project_domain_id="default")
    return ks_session.Session(auth=auth).get_token()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_TOKEN = re.compile(rb'"token":"[^"]*"')


def redact_tokens(text: str) -> str:
    """The throw-away stack's Keystone tokens out of the payloads (base64 JSON):
    a history in the repository holds no credential, even a dead one."""
    def scrub(m: re.Match) -> str:
        clean = _TOKEN.sub(b'"token":"redacted"', base64.b64decode(m.group(1)))
        return '"data": "' + base64.b64encode(clean).decode() + '"'
    return re.sub(r'"data": "([A-Za-z0-9+/=]+)"', scrub, text)


class Capture:
    def __init__(self, stack: EmbeddedStack, out: Path):
        self.stack = stack
        self.out = out
        self.api = httpx.AsyncClient(base_url=stack.api_url, timeout=60,
                                     headers={"X-Auth-Token": login(stack, "demo", "demo")})
        self.admin = httpx.AsyncClient(base_url=stack.api_url, timeout=60,
                                       headers={"X-Auth-Token": login(stack, "admin", "admin")})

    async def ids(self) -> tuple[str, str]:
        glance = f"{self.stack.glance.url}/v2/images"  # the real Glance of the stack
        image = (await self.api.get(glance, params={"name": "cirros"})).json()["images"][0]["id"]
        net = (await self.api.get("/networking/v2.0/networks")).json()["networks"][0]["id"]
        return image, net

    async def boot(self, name: str, flavor: str = "1", zone: str | None = None) -> str:
        image, net = await self.ids()
        server = {"name": name, "flavorRef": flavor, "imageRef": image,
                  "networks": [{"uuid": net}]}
        if zone:
            server["availability_zone"] = zone
        resp = await self.api.post("/v2.1/servers", json={"server": server})
        resp.raise_for_status()
        return resp.json()["server"]["id"]

    async def status(self, server_id: str, wanted: set[str], timeout: float = 120) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            resp = await self.api.get(f"/v2.1/servers/{server_id}")
            if resp.status_code == 404 and "DELETED" in wanted:
                return {"status": "DELETED"}
            body = resp.json().get("server", {})
            if body.get("status") in wanted:
                return body
            await asyncio.sleep(0.1)
        raise TimeoutError(f"{server_id} never reached {wanted}")

    async def save(self, scenario: str, workflow_id: str) -> None:
        handle = self.stack.client.get_workflow_handle(workflow_id)
        try:
            await asyncio.wait_for(handle.result(), 120)
        except Exception:
            pass
        history = await handle.fetch_history()
        # Saved decrypted, so the replay tests need no key of this throw-away stack.
        codec = payload_codec(self.stack.settings)
        for event in history.events:
            decrypt_all(event, codec)
        path = self.out / f"{scenario}.json"
        path.write_text(redact_tokens(json.dumps(history.to_json_dict(), indent=1)) + "\n")
        print(f"captured {scenario}: {workflow_id} ({len(history.events)} events)")

    async def no_valid_host(self) -> None:
        with self.stack.db.writer() as s:
            s.add(Flavor(flavorid="colossal", name="colossal", vcpus=256,
                         memory_mb=1024 * 1024, root_gb=50000))
        sid = await self.boot("too-big", flavor="colossal")
        await self.status(sid, {"ERROR"})
        await self.save("boot_no_valid_host", f"boot-{sid}")

    async def reschedule_then_success(self) -> None:
        sid = await self.boot("resched", zone="retry")
        await self.status(sid, {"ACTIVE"})
        await self.save("boot_rescheduled_after_spawn_failure", f"boot-{sid}")

    async def max_retries(self) -> None:
        sid = await self.boot("doomed", zone="doomed")
        await self.status(sid, {"ERROR"})
        await self.save("boot_max_retries_exceeded", f"boot-{sid}")

    async def host_never_picked_up(self) -> None:
        await self.stack.stop_host("ghost-1")
        sid = await self.boot("ghosted", zone="ghost")
        await self.status(sid, {"ACTIVE"})
        await self.save("boot_host_never_picked_up_spawn", f"boot-{sid}")

    async def delete_during_build(self) -> None:
        sid = await self.boot("short-lived", zone="slow")
        wf = self.stack.client.get_workflow_handle(f"boot-{sid}")
        deadline = time.monotonic() + 60
        while not (await wf.query("current_step")).startswith("spawn"):
            if time.monotonic() > deadline:
                raise TimeoutError("build never reached spawn")
            await asyncio.sleep(0.05)
        assert (await self.api.delete(f"/v2.1/servers/{sid}")).status_code == 204
        await self.status(sid, {"DELETED"})
        await self.save("boot_cancelled_by_delete", f"boot-{sid}")
        await self.save("delete_during_build", f"delete-{sid}")

    async def resize_reverted(self, name: str = "resize_reverted") -> None:
        sid = await self.boot("to-resize", zone="nova")
        await self.status(sid, {"ACTIVE"})
        resp = await self.api.post(f"/v2.1/servers/{sid}/action",
                                   json={"resize": {"flavorRef": "2"}})
        if resp.status_code != 202:
            print(f"skipped {name}: resize answered {resp.status_code} {resp.text}")
            return
        await self.status(sid, {"VERIFY_RESIZE"})
        wf_id = (await self.admin.get(f"/v2.1/servers/{sid}")).headers.get(
            "Novaflow-Workflow")
        resp = await self.api.post(f"/v2.1/servers/{sid}/action", json={"revertResize": None})
        resp.raise_for_status()
        await self.status(sid, {"ACTIVE"})
        await self.save(name, wf_id)

    async def resize_reverted_rebinding_ports(self) -> None:
        """A resize reverted since moves rebind the ports (patch ``rebind-ports``):
        bound to the destination, then back to the source."""
        await self.resize_reverted("resize_reverted_rebinding_ports")

    async def live_migrated_rebinding_ports(self) -> None:
        """A live migration whose ports follow the guest to the destination."""
        sid = await self.boot("to-live-migrate", zone="nova")
        await self.status(sid, {"ACTIVE"})
        resp = await self.admin.post(f"/v2.1/servers/{sid}/action",
                                     json={"os-migrateLive": {"host": None,
                                                              "block_migration": "auto"}},
                                     headers={"OpenStack-API-Version": "compute 2.25"})
        resp.raise_for_status()
        wf_id = (await self.admin.get(f"/v2.1/servers/{sid}")).headers.get(
            "Novaflow-Workflow")
        await self.save("live_migrated_rebinding_ports", wf_id)

    async def shelve_offloaded_unbinding_ports(self) -> None:
        """A shelve offloaded at once (shelved_offload_time 0): ports unbound."""
        sid = await self.boot("to-offload", zone="nova")
        await self.status(sid, {"ACTIVE"})
        (await self.api.post(f"/v2.1/servers/{sid}/action",
                             json={"shelve": None})).raise_for_status()
        wf_id = (await self.admin.get(f"/v2.1/servers/{sid}")).headers.get(
            "Novaflow-Workflow")
        await self.status(sid, {"SHELVED_OFFLOADED"})
        await self.save("shelve_offloaded_unbinding_ports", wf_id)

    async def volume_attach_failed_on_host(self) -> None:
        sid = await self.boot("vol-attach", zone="volfail")
        await self.status(sid, {"ACTIVE"})
        project = (await self.api.get("/v2.1/servers/" + sid)).json()["server"]["tenant_id"]
        vol = await self.api.post(f"/volume/v3/{project}/volumes",
                                  json={"volume": {"size": 1, "name": "vol-attach"}})
        vol.raise_for_status()
        resp = await self.api.post(f"/v2.1/servers/{sid}/os-volume_attachments", json={
            "volumeAttachment": {"volumeId": vol.json()["volume"]["id"]}})
        resp.raise_for_status()
        wf_id = (await self.admin.get(f"/v2.1/servers/{sid}")).headers.get(
            "Novaflow-Workflow")
        await self.save("volume_attach_failed_on_host", wf_id)
    async def unshelve_no_valid_host(self) -> None:
        """Shelved and offloaded, then unshelved into a zone whose only host is
        disabled: NoValidHost, the server stays SHELVED_OFFLOADED."""
        sid = await self.boot("to-shelve", zone="nova")
        await self.status(sid, {"ACTIVE"})
        (await self.api.post(f"/v2.1/servers/{sid}/action",
                             json={"shelve": None})).raise_for_status()
        await self.status(sid, {"SHELVED_OFFLOADED"})
        v253 = {"OpenStack-API-Version": "compute 2.53"}
        services = (await self.admin.get("/v2.1/os-services", params={"host": "lonely-1"},
                                         headers=v253)).json()["services"]
        (await self.admin.put(f"/v2.1/os-services/{services[0]['id']}",
                              json={"status": "disabled"}, headers=v253)).raise_for_status()
        resp = await self.api.post(f"/v2.1/servers/{sid}/action",
                                   json={"unshelve": {"availability_zone": "lonely"}},
                                   headers={"OpenStack-API-Version": "compute 2.77"})
        resp.raise_for_status()
        wf_id = (await self.admin.get(f"/v2.1/servers/{sid}")).headers.get(
            "Novaflow-Workflow")
        await self.save("unshelve_no_valid_host", wf_id)
        shown = (await self.api.get(f"/v2.1/servers/{sid}")).json()["server"]
        assert shown["status"] == "SHELVED_OFFLOADED", shown

    async def evacuate_target_host_fails(self) -> None:
        """The source host forced down, the server evacuated to a host whose
        hypervisor refuses spawns: ERROR on its source, migration in error."""
        sid = await self.boot("to-evacuate", zone="retry")  # lands on steady-1
        await self.status(sid, {"ACTIVE"})
        source = (await self.admin.get(f"/v2.1/servers/{sid}")).json()["server"][
            "OS-EXT-SRV-ATTR:host"]
        v253 = {"OpenStack-API-Version": "compute 2.53"}
        services = (await self.admin.get("/v2.1/os-services", params={"host": source},
                                         headers=v253)).json()["services"]
        (await self.admin.put(f"/v2.1/os-services/{services[0]['id']}",
                              json={"forced_down": True}, headers=v253)).raise_for_status()
        try:
            resp = await self.admin.post(f"/v2.1/servers/{sid}/action",
                                         json={"evacuate": {"host": "flaky-1"}},
                                         headers={"OpenStack-API-Version": "compute 2.29"})
            resp.raise_for_status()
            wf_id = (await self.admin.get(f"/v2.1/servers/{sid}")).headers.get(
                "Novaflow-Workflow")
            await self.save("evacuate_target_host_fails", wf_id)
            await self.status(sid, {"ERROR"})
        finally:
            await self.admin.put(f"/v2.1/os-services/{services[0]['id']}",
                                 json={"forced_down": False}, headers=v253)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).resolve().parents[1]
                                             / "tests" / "replay" / "histories"))
    parser.add_argument("--only", nargs="*", default=None,
                        help="capture only these scenarios (method names of Capture)")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="novaflow-capture-") as tmp:
        settings = Settings(state_dir=Path(tmp), api_port=free_port(), metadata_port=None,
                            console_proxy_port=free_port(),
                            host_schedule_to_start_timeout=3.0, spawn_timeout=30.0,
                            quota={"instances": -1, "cores": -1, "ram": -1})
        stack = EmbeddedStack(settings=settings, host_specs=HOSTS, temporal_port=free_port(),
                              ui_port=free_port(), keystone_port=free_port(), headless=True,
                              driver_factory=driver_factory)
        await stack.start()
        cap = Capture(stack, out)
        try:
            scenarios = (cap.no_valid_host, cap.reschedule_then_success, cap.max_retries,
                         cap.host_never_picked_up, cap.delete_during_build,
                         cap.resize_reverted, cap.volume_attach_failed_on_host,
                         cap.unshelve_no_valid_host, cap.evacuate_target_host_fails,
                         cap.resize_reverted_rebinding_ports, cap.live_migrated_rebinding_ports,
                         cap.shelve_offloaded_unbinding_ports)
            for scenario in scenarios:
                if args.only is None or scenario.__name__ in args.only:
                    await scenario()
        finally:
            await cap.api.aclose()
            await cap.admin.aclose()
            await stack.stop()
    _ = sim_hosts


if __name__ == "__main__":
    asyncio.run(main())
    # Temporal's runtime can abort the interpreter at exit (sdk-python #300).
    sys.stdout.flush()
    import os

    os._exit(0)
