"""The one place a host worker gets its OpenStack credentials from.

Host workers never open the database: they read images (Glance), networks
(Neutron) and a server's boot details (Nova) through openstacksdk, exactly as
they would against a real cloud, authenticated as the control plane's
service user through Keystone; endpoints come from Keystone's catalog.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import keystoneauth1.exceptions
import openstack.connection
import openstack.exceptions
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

from novaflow.settings import Settings

# What a call to another service raises when that service fails or cannot
# be reached (keystoneauth's ConnectFailure is not an SDKException).
SERVICE_ERRORS = (openstack.exceptions.SDKException, keystoneauth1.exceptions.ClientException,
                  OSError)
# A connection the server closed as it was reused (a keep-alive race) is
# tried again, as are refused connects: keystoneauth's connect_retries.
CONNECT_RETRIES = 3


def api_url(settings: Settings) -> str:
    """The API the host talks to: ``settings.host_api_url`` or the local stack's."""
    return settings.host_api_url or f"http://{settings.api_host}:{settings.api_port}"


def host_connection(settings: Settings) -> openstack.connection.Connection:
    """An openstacksdk Connection as the service user (password auth).

    keystoneauth renews a token that has less than two minutes left; with
    Keystone's tokens shorter-lived than a few times that (the test stack's
    live 30 s), every call would log in anew, so a token is renewed when a
    quarter of its life is left instead, if that comes later."""
    auth = v3.Password(
        auth_url=settings.keystone_auth_url(), username=settings.service_user,
        password=settings.effective_service_password(),
        project_name=settings.service_project, user_domain_id="default",
        project_domain_id="default")
    auth.MIN_TOKEN_LIFE_SECONDS = min(auth.MIN_TOKEN_LIFE_SECONDS,
                                      max(1, settings.keystone_token_expiration // 4))
    return openstack.connection.Connection(
        session=ks_session.Session(auth=auth), region_name=settings.region_name,
        interface="public", connect_retries=CONNECT_RETRIES)


def user_connection(settings: Settings, token: str, project_id: str
                    ) -> openstack.connection.Connection:
    """An openstacksdk Connection as the user whose (project-scoped) token
    this is: what Nova's compute does with the request's context, for the
    few calls whose result must belong to the user's project (a boot's new
    volumes)."""
    return openstack.connection.Connection(
        auth_url=settings.keystone_auth_url(), auth_type="v3token", token=token,
        project_id=project_id, region_name=settings.region_name, interface="public",
        connect_retries=CONNECT_RETRIES)


class LazyConnection:
    """One openstacksdk Connection, made on first use and shared by threads
    (the base of every client that calls the cloud: images, hosts' lookups)."""

    def __init__(self, connect: Callable[[], openstack.connection.Connection]):
        self._connect = connect
        self._conn: openstack.connection.Connection | None = None
        self._lock = threading.Lock()

    @property
    def conn(self) -> openstack.connection.Connection:
        with self._lock:
            if self._conn is None:
                self._conn = self._connect()
            return self._conn
