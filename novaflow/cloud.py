"""The one place a host worker gets its OpenStack credentials from.

Host workers never open the database: they read images (Glance), networks
(Neutron) and a server's boot details (Nova) through openstacksdk, exactly as
they would against a real cloud.  Today the credential is the embedded
stack's fixed ``<user>:<project>`` admin token; switching to Keystone means
changing only ``host_connection``.
"""

from __future__ import annotations

import openstack.config
import openstack.connection

from novaflow.clouds import cloud_config
from novaflow.settings import Settings


def api_url(settings: Settings) -> str:
    """The API the host talks to: ``settings.host_api_url`` or the local stack's."""
    return settings.host_api_url or f"http://{settings.api_host}:{settings.api_port}"


def host_connection(settings: Settings) -> openstack.connection.Connection:
    """An openstacksdk Connection with the host's (admin) credential."""
    user, _, project = settings.host_auth_token.partition(":")
    config = openstack.config.get_cloud_region(
        load_yaml_config=False, load_envvars=False,
        **cloud_config(api_url(settings), user, project))
    return openstack.connection.Connection(config=config)
