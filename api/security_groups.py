"""The compute API's side of security groups: Nova's ``security_group_api``
calls (novaflow/security_groups.py) made off the event loop, their
refusals turned into Nova's faults.

The calls go through openstacksdk as the service user to the network
service in the catalog, which may be this very app (the Neutron stand-in):
they run in the pool of api/cloud_proxy.py, so a request waiting on one
never holds a thread the called route needs (the default executor is small).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from sqlmodel import select

from api import cloud_proxy
from api.deps import AppHandles
from api.errors import BadRequest, Conflict, NotFound, ServiceUnavailable
from novaflow import logs
from novaflow import security_groups as sg_api
from novaflow.cloud import SERVICE_ERRORS
from schema.models import Instance

log = logs.get_logger("novaflow.api.security_groups")
T = TypeVar("T")

_FAULTS = {400: BadRequest, 404: NotFound, 409: Conflict}


async def call(h: AppHandles, fn: Callable[..., T], *args: Any) -> T:
    """``fn(connection, *args)`` in the pool; Nova's faults for the refusals."""
    def run() -> T:
        return fn(h.cloud(), *args)

    try:
        return await cloud_proxy.in_pool(run)
    except sg_api.SecurityGroupError as exc:
        raise _FAULTS[exc.status](exc.message) from None
    except SERVICE_ERRORS as exc:
        log.warning("network service call failed", error=repr(exc)[:300])
        raise ServiceUnavailable("The network service did not answer; try again "
                                 "later.") from None


async def resolve_for_boot(h: AppHandles, project_id: str, names: list[str]) -> list[str]:
    """The ids of the groups a boot asks for; an unknown one is Nova's 400."""
    try:
        return await call(h, sg_api.resolve, project_id, names)
    except NotFound as exc:
        raise BadRequest(exc.message) from None


def names_of_servers(instances: list[Instance]) -> dict[str, list[dict]]:
    """Each server's ``security_groups`` as the server view shows them: its
    ports' groups by name, once each, as kept on its row (Nova's info cache;
    refreshed by the boot's network step and by add/removeSecurityGroup)."""
    return {i.uuid: [{"name": n} for n in i.security_group_names]
            for i in instances if i.security_group_names}


async def refresh_names(h: AppHandles, inst: Instance) -> None:
    """Read the server's groups back from its ports after a change."""
    names = await call(h, sg_api.names_of_server, inst.uuid)

    def write() -> None:
        with h.db.writer() as s:
            row = s.exec(select(Instance).where(Instance.uuid == inst.uuid)).first()
            if row is not None:
                row.security_group_names = names
                s.add(row)
    await asyncio.to_thread(write)


def show_groups(bodies: list[dict], groups: dict[str, list[dict]]) -> None:
    """Fill the server bodies' ``security_groups`` (Nova leaves the key out
    when a server has none)."""
    for body in bodies:
        if groups.get(body["id"]):
            body["security_groups"] = groups[body["id"]]
