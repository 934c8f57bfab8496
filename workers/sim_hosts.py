"""Simulated compute hosts for the embedded stack: one libvirt test-driver
node definition per host, of differing sizes, one in a second zone."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

# (vcpus, memory_mb, local_gb, availability zone), cycled over the hosts.
_SHAPES = [
    (16, 32768, 500, "nova"),
    (8, 16384, 250, "nova"),
    (32, 65536, 1000, "az2"),
]


@dataclass
class SimHost:
    name: str
    vcpus: int
    memory_mb: int
    local_gb: int
    availability_zone: str
    cpu_arch: str = "x86_64"

    def node_xml(self) -> str:
        sockets = 2 if self.vcpus >= 2 else 1
        cores = max(1, self.vcpus // sockets)
        return f"""<node>
  <cpu>
    <mhz>2400</mhz>
    <model>{self.cpu_arch}</model>
    <active>{self.vcpus}</active>
    <nodes>1</nodes>
    <sockets>{sockets}</sockets>
    <cores>{cores}</cores>
    <threads>1</threads>
  </cpu>
  <memory>{self.memory_mb * 1024}</memory>
</node>
"""


def default_hosts(count: int) -> list[SimHost]:
    hosts = []
    for i in range(count):
        vcpus, mem, disk, az = _SHAPES[i % len(_SHAPES)]
        hosts.append(SimHost(name=f"host-{i + 1}", vcpus=vcpus, memory_mb=mem, local_gb=disk,
                             availability_zone=az))
    return hosts


def prepare(state_dir: Path, count: int, specs: list[SimHost] | None = None) -> list[SimHost]:
    """Write (or re-read) the host definitions under ``state_dir/hosts``.

    Hosts that already exist keep their shape across restarts; more are added
    when ``count`` grows.  ``specs`` replaces the default shapes (tests).
    """
    hosts_dir = state_dir / "hosts"
    hosts_dir.mkdir(parents=True, exist_ok=True)
    out = []
    for host in specs if specs is not None else default_hosts(count):
        spec_file = hosts_dir / f"{host.name}.json"
        if spec_file.exists():
            host = SimHost(**json.loads(spec_file.read_text()))
        else:
            spec_file.write_text(json.dumps(asdict(host), indent=2))
        (hosts_dir / f"{host.name}.xml").write_text(host.node_xml())
        out.append(host)
    return out


def libvirt_uri(state_dir: Path, host: SimHost) -> str:
    return f"test://{(state_dir / 'hosts' / f'{host.name}.xml').resolve()}"


def domains_file(state_dir: Path, host: SimHost) -> Path:
    return state_dir / "hosts" / f"{host.name}.domains.json"
