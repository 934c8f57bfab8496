"""Nova's config drive: an ISO 9660 volume labelled ``config-2`` carrying
``openstack/latest/{meta_data.json, user_data, network_data.json,
vendor_data2.json}``, attached to the guest as a cdrom.

Built with ``genisoimage`` and Nova's own options.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from activities.hypervisor.driver import DriverError
from novaflow.guest_network import GuestPort, network_data


@dataclass
class GuestMetadata:
    """What meta_data.json and user_data say about the instance."""

    uuid: str
    name: str
    hostname: str
    project_id: str
    availability_zone: str = "nova"
    launch_index: int = 0
    metadata: dict[str, str] = field(default_factory=dict)
    public_keys: dict[str, str] = field(default_factory=dict)
    user_data: bytes | None = None
    ports: list[GuestPort] = field(default_factory=list)


def meta_data(md: GuestMetadata) -> dict:
    return {
        "uuid": md.uuid, "name": md.name, "hostname": md.hostname,
        "launch_index": md.launch_index, "availability_zone": md.availability_zone,
        "project_id": md.project_id, "meta": md.metadata,
        "public_keys": md.public_keys,
        "keys": [{"name": k, "type": "ssh", "data": v} for k, v in md.public_keys.items()],
        "devices": [],
    }


def build(path: Path, md: GuestMetadata) -> None:
    """Write the config drive ISO for ``md`` to ``path`` (replacing it)."""
    with tempfile.TemporaryDirectory(prefix="configdrive-") as tmp:
        latest = Path(tmp) / "openstack" / "latest"
        latest.mkdir(parents=True)
        (latest / "meta_data.json").write_text(json.dumps(meta_data(md), indent=2))
        (latest / "network_data.json").write_text(json.dumps(network_data(md.ports), indent=2))
        (latest / "vendor_data.json").write_text("{}")
        (latest / "vendor_data2.json").write_text("{}")
        if md.user_data is not None:
            (latest / "user_data").write_bytes(md.user_data)
        out = path.with_suffix(".tmp")
        try:
            subprocess.run(["genisoimage", "-o", str(out), "-ldots", "-allow-lowercase",
                            "-allow-multidot", "-l", "-publisher", "novaflow", "-quiet",
                            "-J", "-r", "-V", "config-2", tmp],
                           capture_output=True, text=True, check=True)
        except FileNotFoundError as exc:
            raise DriverError("genisoimage is not installed") from exc
        except subprocess.CalledProcessError as exc:
            raise DriverError(f"building the config drive failed: {exc.stderr.strip()}") from exc
        os.chmod(out, 0o644)
        os.replace(out, path)
