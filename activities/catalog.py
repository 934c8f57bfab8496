"""Flavor, image and network lookups a build needs.

Flavors are Nova's own (the database); images come from Glance through
openstacksdk (``novaflow.images``), in the embedded stack as against a real
cloud; networks and ports from the network service in the catalog (the
Neutron stand-in, or a real Neutron), also through openstacksdk.
"""

from __future__ import annotations

import openstack.exceptions
from sqlmodel import select
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.base import ControlActivities
from activities.types.catalog import FlavorInfo, ImageInfo, LookupInput, NetworkInfo
from novaflow import errors
from novaflow.cloud import SERVICE_ERRORS
from novaflow.images import ImageServiceUnavailable
from schema.models import Flavor


def _not_found(what: str) -> ApplicationError:
    return ApplicationError(what, type=errors.NOT_FOUND, non_retryable=True)


def flavor_info(flavor: Flavor) -> FlavorInfo:
    return FlavorInfo(flavorid=flavor.flavorid, name=flavor.name, vcpus=flavor.vcpus,
                      memory_mb=flavor.memory_mb, root_gb=flavor.root_gb,
                      ephemeral_gb=flavor.ephemeral_gb, swap=flavor.swap,
                      extra_specs=dict(flavor.extra_specs or {}))


class CatalogActivities(ControlActivities):
    """Lookups a build needs before it can be scheduled."""

    @activity.defn(name="get_flavor")
    def get_flavor(self, inp: LookupInput) -> FlavorInfo:
        with self.db.reader() as s:
            flavor = s.exec(select(Flavor).where(Flavor.flavorid == inp.ref)).first()
        if flavor is None:
            raise _not_found(f"Flavor {inp.ref} could not be found.")
        return flavor_info(flavor)

    @activity.defn(name="get_image")
    def get_image(self, inp: LookupInput) -> ImageInfo:
        """The image from Glance, as the server's project sees it; Glance down
        is retried (the activity's retry policy), then fails naming it."""
        try:
            image = self.images.get(inp.ref, inp.ctx.project_id, inp.ctx.is_admin)
        except ImageServiceUnavailable as exc:
            raise ApplicationError(f"Image service unavailable: {exc}") from exc
        if image is None or image.status != "active":
            raise _not_found(f"Image {inp.ref} could not be found.")
        return ImageInfo.of(image)

    @activity.defn(name="get_networks")
    def get_networks(self, inp: LookupInput) -> list[NetworkInfo]:
        """The requested networks, then the requested ports (with their
        networks), from the network service as the server's project sees them."""
        net = self.cloud.network
        found: list[NetworkInfo] = []
        try:
            for net_id in inp.refs:
                found.append(NetworkInfo(id=net_id, name=self._network(inp, net_id).name))
            for port_id in inp.ports:
                port = net.get_port(port_id)
                if port.project_id != inp.ctx.project_id and not inp.ctx.is_admin:
                    raise _not_found(f"Port {port_id} could not be found.")
                if port.device_id and port.device_id != inp.ctx.server_id:
                    raise ApplicationError(f"Port {port_id} is still in use.",
                                           type=errors.INVALID_REQUEST, non_retryable=True)
                found.append(NetworkInfo(id=port.network_id, port_id=port.id,
                                         name=self._network(inp, port.network_id).name))
        except openstack.exceptions.NotFoundException as exc:
            raise _not_found(str(exc.details or exc)) from exc
        except SERVICE_ERRORS as exc:
            raise ApplicationError(f"Network service unavailable: {exc}") from exc
        return found

    def _network(self, inp: LookupInput, net_id: str):
        net = self.cloud.network.get_network(net_id)
        if not (net.is_shared or net.project_id == inp.ctx.project_id or inp.ctx.is_admin):
            raise _not_found(f"Network {net_id} could not be found.")
        return net
