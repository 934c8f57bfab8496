"""A build's first step as one local activity: the token check, then the
flavor, image and network lookups.

They were four local activities (the three lookups side by side).  Each
local activity is a round through the worker (the result handed to the
workflow, the next one scheduled, a marker in the history): on a solo boot
3 to 8 ms apiece, as long as the work itself.  Here the token is checked
first, as before; the image (Glance) and the networks (the network service)
are looked up side by side while the flavor is read, and a failure is
reported as its own lookup's, the first in that order.  A build the API
started after checking its image (as Nova's API puts the image in the
request spec) carries it, and Glance is not asked again.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from temporalio import activity

from activities.catalog import CatalogActivities
from activities.identity import IdentityActivities
from activities.types.catalog import (
    BuildLookupsInput,
    BuildLookupsResult,
    ImageInfo,
    LookupInput,
)
from activities.types.identity import CheckTokenInput

# The calls to other services of concurrent builds (two per build).
_CALLS = ThreadPoolExecutor(max_workers=16, thread_name_prefix="build-lookup")


class BuildLookupActivities:
    """The token check and lookups a build starts with."""

    def __init__(self, identity: IdentityActivities, catalog: CatalogActivities):
        self.identity = identity
        self.catalog = catalog

    @activity.defn(name="build_lookups")
    def build_lookups(self, inp: BuildLookupsInput) -> BuildLookupsResult:
        ctx = inp.ctx
        self.identity.check_token(CheckTokenInput(ctx=ctx))
        image = _CALLS.submit(self._image, inp)
        networks = _CALLS.submit(self.catalog.get_networks,
                                 LookupInput(ctx=ctx, ref="", refs=inp.network_ids,
                                             ports=inp.port_ids))
        try:
            flavor = self.catalog.get_flavor(LookupInput(ctx=ctx, ref=inp.flavor_ref))
            return BuildLookupsResult(flavor=flavor, image=image.result(),
                                      networks=networks.result())
        finally:
            # Never leave a lookup running behind a failed one.
            for call in (image, networks):
                call.exception()

    def _image(self, inp: BuildLookupsInput) -> ImageInfo:
        if inp.image is not None:
            return inp.image
        if not inp.image_ref:
            return ImageInfo(id="", name="")
        return self.catalog.get_image(LookupInput(ctx=inp.ctx, ref=inp.image_ref))
