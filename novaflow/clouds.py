"""A ``clouds.yaml`` for the embedded stack, so ``openstack`` and openstacksdk
work against it as against any cloud: password auth at its Keystone, every
service found through Keystone's catalog (no endpoint overrides).

Clouds: ``novaflow`` (user demo, member of project demo), ``novaflow-reader``
(user reader, reader of demo) and ``novaflow-admin`` (admin of project admin).
The file holds passwords: it is written with mode 0600.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

# cloud -> (user, project)
CLOUDS = {"novaflow": ("demo", "demo"), "novaflow-reader": ("reader", "demo"),
          "novaflow-admin": ("admin", "admin")}


def cloud_config(auth_url: str, user: str, password: str, project: str,
                 region: str = "RegionOne") -> dict:
    """One cloud's entry: ``user`` logging in to ``project`` with a password."""
    return {
        "auth_type": "password",
        "auth": {"auth_url": auth_url, "username": user, "password": password,
                 "project_name": project, "user_domain_name": "Default",
                 "project_domain_name": "Default"},
        "identity_api_version": "3",
        "region_name": region,
        "interface": "public",
    }


def write_clouds_yaml(directory: Path, auth_url: str, passwords: dict[str, str],
                      region: str = "RegionOne") -> Path:
    """Write ``<directory>/clouds.yaml`` for the Keystone at ``auth_url``, its
    services found in ``region`` of the catalog."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "clouds.yaml"
    clouds = {name: cloud_config(auth_url, user, passwords[user], project, region)
              for name, (user, project) in CLOUDS.items()}
    text = ("# Written by `novaflow up`; rewritten at every start.  Holds passwords.\n"
            + yaml.safe_dump({"clouds": clouds}, sort_keys=False))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)
    return path


def export_lines(path: Path, cloud: str = "novaflow") -> list[str]:
    """The shell lines that point openstack/openstacksdk at ``path``."""
    return [f"export OS_CLIENT_CONFIG_FILE={path.resolve()}", f"export OS_CLOUD={cloud}"]
