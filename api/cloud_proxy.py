"""The image, volume and network services as Nova's proxy APIs reach them:
through openstacksdk, acting as the caller (their own Keystone token, scoped
to their project; endpoints from Keystone's catalog), as Nova's glance,
cinder and neutron clients act with the request's context.

Each service is reached through one function here (``image_service``,
``block_storage``, ``network``), so pointing a proxy at another deployment
of the service (a real Glance instead of the stand-in) changes nothing in
the routes.  openstacksdk blocks: ``call`` runs it in a thread and turns
its errors into Nova's faults.
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import openstack.connection
import openstack.exceptions
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

from api.deps import AppHandles, RequestContext
from api.errors import BadRequest, Conflict, Forbidden, NotFound, ServiceUnavailable
from novaflow import logs
from novaflow.cloud import CONNECT_RETRIES, SERVICE_ERRORS

log = logs.get_logger("novaflow.api.proxy")

T = TypeVar("T")

# Connections per token: a token is re-scoped with Keystone once, not per call.
_CACHE_SIZE = 64
_connections: OrderedDict[str, openstack.connection.Connection] = OrderedDict()
_lock = threading.Lock()


def user_connection(h: AppHandles, ctx: RequestContext) -> openstack.connection.Connection:
    """openstacksdk as the caller of ``ctx``."""
    key = f"{ctx.project_id}:{ctx.token}"
    with _lock:
        conn = _connections.get(key)
        if conn is not None:
            _connections.move_to_end(key)
            return conn
    auth = v3.Token(auth_url=h.settings.keystone_auth_url(), token=ctx.token,
                    project_id=ctx.project_id)
    conn = openstack.connection.Connection(
        session=ks_session.Session(auth=auth), region_name=h.settings.region_name,
        interface="public", connect_retries=CONNECT_RETRIES)
    with _lock:
        _connections[key] = conn
        while len(_connections) > _CACHE_SIZE:
            _connections.popitem(last=False)[1].close()
    return conn


def image_service(conn: openstack.connection.Connection) -> Any:
    """The image service (Glance v2) the images proxy reads."""
    return conn.image


def block_storage(conn: openstack.connection.Connection) -> Any:
    """The volume service (Cinder v3) behind os-volumes and os-snapshots."""
    return conn.block_storage


def network(conn: openstack.connection.Connection) -> Any:
    """The network service (Neutron) behind os-networks, security groups, floating IPs."""
    return conn.network


# The services may be this very app (the Neutron and Cinder stand-ins): their
# calls wait in a pool of their own, so a request waiting on one never holds
# a thread of the default executor that the called route needs.
CALLS = ThreadPoolExecutor(max_workers=16, thread_name_prefix="cloud-calls")


async def in_pool(fn: Callable[[], T]) -> T:
    """``fn()`` (a blocking call to another service) in the calls' pool."""
    return await asyncio.get_running_loop().run_in_executor(CALLS, fn)


async def call(h: AppHandles, ctx: RequestContext, fn: Callable[[Any], T],
               not_found: str = "The resource could not be found.") -> T:
    """``fn(connection)`` in the calls' pool; the service's refusals as Nova's faults."""
    def run() -> T:
        return fn(user_connection(h, ctx))

    try:
        return await in_pool(run)
    except openstack.exceptions.NotFoundException:
        raise NotFound(not_found) from None
    except openstack.exceptions.ForbiddenException as exc:
        raise Forbidden(error_message(exc)) from None
    except openstack.exceptions.ConflictException as exc:
        raise Conflict(error_message(exc)) from None
    except openstack.exceptions.BadRequestException as exc:
        raise BadRequest(error_message(exc)) from None
    except SERVICE_ERRORS as exc:
        log.warning("proxied service call failed", error=repr(exc)[:300])
        raise ServiceUnavailable("The service behind this API did not answer; try again "
                                 "later.") from None


def error_message(exc: openstack.exceptions.SDKException) -> str:
    details = getattr(exc, "details", None)
    return str(details or exc)[:500]


def offset_page(request: Any, items: list[T], max_limit: int) -> list[T]:
    """Nova's ``common.limited`` over a proxied list: ``offset`` and ``limit``
    from the query string (non-numbers ignored, the limit capped by default
    at ``max_limit``)."""
    q = request.query_params
    offset = int(q["offset"]) if q.get("offset", "").isdigit() else 0
    limit = int(q["limit"]) if q.get("limit", "").isdigit() else max_limit
    return items[offset:offset + limit]


def removed_after(ctx: RequestContext, last: str) -> None:
    """404 from the microversion after ``last``, where Nova removed the API."""
    from api.microversion import APIVersion

    if ctx.version > APIVersion.parse(last):
        raise NotFound("The resource could not be found.")
