"""Fixtures of the API tests: a clouds.yaml for the session stack (written by
the same code as ``novaflow up``'s), the openstack CLI and openstacksdk on it,
and clients for projects of their own."""

from __future__ import annotations

import compute_schemas
import httpx
import identity
import openstack.config
import pytest
from api_support import OpenStackCLI
from openstack.connection import Connection

from novaflow.clouds import write_clouds_yaml


@pytest.fixture(autouse=True)
def nova_response_schemas():
    """Every compute response of an API test is held to Nova's published
    schema for its microversion (tests/compute_schemas.py)."""
    compute_schemas.ENFORCED = True
    yield
    compute_schemas.ENFORCED = False


@pytest.fixture(scope="session")
def clouds_file(stack, tmp_path_factory):
    return write_clouds_yaml(tmp_path_factory.mktemp("clouds"), stack.auth_url,
                             stack.passwords)


@pytest.fixture(scope="session")
def osc(clouds_file) -> OpenStackCLI:
    return OpenStackCLI(clouds_file)


def _connection(clouds_file, cloud: str) -> Connection:
    config = openstack.config.OpenStackConfig(config_files=[str(clouds_file)])
    return Connection(config=config.get_one(cloud=cloud))


@pytest.fixture(scope="session")
def sdk(clouds_file) -> Connection:
    conn = _connection(clouds_file, "novaflow")
    yield conn
    conn.close()


@pytest.fixture(scope="session")
def sdk_admin(clouds_file) -> Connection:
    conn = _connection(clouds_file, "novaflow-admin")
    yield conn
    conn.close()


@pytest.fixture(scope="session")
def project_client(stack):
    """A factory of clients for ``<user>:<project>`` of the test's choosing: the
    Keystone user (member of that project) is made on first use."""
    clients: list[httpx.Client] = []

    def make(who: str) -> httpx.Client:
        user, _, project = who.partition(":")
        login = stack.ensure_user(user, project)
        c = identity.client(stack.api_url, stack.auth_url, login)
        clients.append(c)
        return c

    yield make
    for c in clients:
        c.close()
