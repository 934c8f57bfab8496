"""Flavor, image and network lookups against the local catalog.

In the embedded stack the catalog is our own tables; against a real cloud the
image and network lookups go to Glance and Neutron through openstacksdk behind
the same activity names.
"""

from __future__ import annotations

from sqlmodel import select
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.base import ControlActivities
from activities.types.catalog import FlavorInfo, ImageInfo, LookupInput, NetworkInfo
from novaflow import errors
from schema.models import Flavor, Image, Network


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
        with self.db.reader() as s:
            image = s.get(Image, inp.ref)
        if image is None or image.status != "active":
            raise _not_found(f"Image {inp.ref} could not be found.")
        if image.visibility == "private" and image.owner not in (None, inp.ctx.project_id) \
                and not inp.ctx.is_admin:
            raise _not_found(f"Image {inp.ref} could not be found.")
        return ImageInfo(id=image.id, name=image.name, properties=dict(image.properties),
                         min_disk=image.min_disk, min_ram=image.min_ram)

    @activity.defn(name="get_networks")
    def get_networks(self, inp: LookupInput) -> list[NetworkInfo]:
        found: list[NetworkInfo] = []
        with self.db.reader() as s:
            for net_id in inp.refs:
                net = s.get(Network, net_id)
                visible = net is not None and (
                    net.shared or net.project_id == inp.ctx.project_id or inp.ctx.is_admin)
                if not visible:
                    raise _not_found(f"Network {net_id} could not be found.")
                found.append(NetworkInfo(id=net.id, name=net.name))
        return found
