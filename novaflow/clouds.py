"""A ``clouds.yaml`` for the embedded stack, so ``openstack`` and openstacksdk
work against it unchanged.

There is no Keystone: the clouds use keystoneauth's ``admin_token`` plugin
(a fixed token, no catalog) with an endpoint override per service.  Cloud
``novaflow`` is user ``demo`` in project ``demo``; ``novaflow-admin`` is the
admin.  Cinder's endpoint carries the project, as Cinder's does.
"""

from __future__ import annotations

from pathlib import Path

import yaml

CLOUDS = {"novaflow": ("demo", "demo"), "novaflow-admin": ("admin", "admin")}


def cloud_config(api_url: str, user: str, project: str) -> dict:
    """One cloud's entry: token ``<user>:<project>`` and every service on ``api_url``."""
    api = api_url.rstrip("/")
    return {
        "auth_type": "admin_token",
        # The plugin's endpoint is where identity would be; nothing answers there,
        # but clients discover it as v3 (some commands insist on that) and every
        # service they do use has its own override.
        "auth": {"endpoint": f"{api}/identity/v3", "token": f"{user}:{project}"},
        "identity_api_version": "3",
        "region_name": "RegionOne",
        "compute_endpoint_override": f"{api}/v2.1",
        "image_endpoint_override": f"{api}/image",
        "network_endpoint_override": f"{api}/networking",
        "volume_endpoint_override": f"{api}/volume/v3/{project}",
        "block_storage_endpoint_override": f"{api}/volume/v3/{project}",
    }


def write_clouds_yaml(directory: Path, api_url: str) -> Path:
    """Write ``<directory>/clouds.yaml`` for the API at ``api_url``; returns its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "clouds.yaml"
    clouds = {name: cloud_config(api_url, user, project)
              for name, (user, project) in CLOUDS.items()}
    path.write_text("# Written by `novaflow up`; rewritten at every start.\n"
                    + yaml.safe_dump({"clouds": clouds}, sort_keys=False))
    return path


def export_lines(path: Path, cloud: str = "novaflow") -> list[str]:
    """The shell lines that point openstack/openstacksdk at ``path``."""
    return [f"export OS_CLIENT_CONFIG_FILE={path.resolve()}", f"export OS_CLOUD={cloud}"]
