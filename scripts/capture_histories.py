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
import json
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
from workers.sim_hosts import SimHost
from workers.stack import EmbeddedStack, libvirt_driver_factory

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
]
FAULTS = {"flaky-1": {"faults": {"spawn"}}, "bad-1": {"faults": {"spawn"}},
          "bad-2": {"faults": {"spawn"}}, "slow-1": {"delays": {"spawn": 4.0}}}


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
        path.write_text(json.dumps(history.to_json_dict(), indent=1) + "\n")
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

    async def resize_reverted(self) -> None:
        sid = await self.boot("to-resize", zone="nova")
        await self.status(sid, {"ACTIVE"})
        resp = await self.api.post(f"/v2.1/servers/{sid}/action",
                                   json={"resize": {"flavorRef": "2"}})
        if resp.status_code != 202:
            print(f"skipped resize_reverted: resize answered {resp.status_code} {resp.text}")
            return
        await self.status(sid, {"VERIFY_RESIZE"})
        wf_id = (await self.admin.get(f"/v2.1/servers/{sid}")).json()["server"].get(
            "novaflow:workflow_id")
        resp = await self.api.post(f"/v2.1/servers/{sid}/action", json={"revertResize": None})
        resp.raise_for_status()
        await self.status(sid, {"ACTIVE"})
        await self.save("resize_reverted", wf_id)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).resolve().parents[1]
                                             / "tests" / "replay" / "histories"))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="novaflow-capture-") as tmp:
        settings = Settings(state_dir=Path(tmp), api_port=free_port(),
                            host_schedule_to_start_timeout=3.0, spawn_timeout=30.0,
                            quota={"instances": -1, "cores": -1, "ram": -1})
        stack = EmbeddedStack(settings=settings, host_specs=HOSTS, temporal_port=free_port(),
                              ui_port=free_port(), keystone_port=free_port(), headless=True,
                              driver_factory=driver_factory)
        await stack.start()
        cap = Capture(stack, out)
        try:
            for scenario in (cap.no_valid_host, cap.reschedule_then_success, cap.max_retries,
                             cap.host_never_picked_up, cap.delete_during_build,
                             cap.resize_reverted):
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
