"""Request schemas of /v2.1/flavors and their os-extra_specs (Nova's
``schemas/flavor_manage.py``, ``flavors.py``, ``flavors_extraspecs.py``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StrictFloat, StrictInt, StringConstraints

from api.schemas.common import (
    NonNegativeInt,
    NovaBoolean,
    PositiveInt,
    QueryInt,
    QueryModel,
    QueryStr,
    RequestBody,
    since,
)

FlavorName = Annotated[str, StringConstraints(min_length=1, max_length=255)]
# Nova's flavor id: safe characters, no leading or trailing space.
FlavorId = Annotated[str, StringConstraints(
    min_length=1, max_length=255, pattern=r"^[a-zA-Z0-9._-]([a-zA-Z0-9. _-]*[a-zA-Z0-9._-])?$")]
# Nova takes a number too ('type': ['string', 'number', 'null']) and stores str(id).
FlavorIdOrNumber = FlavorId | StrictInt | StrictFloat
# rxtx_factor: a positive number, or its digits as a string.
RxtxFactor = Annotated[float, Field(gt=0, le=3.40282e38, allow_inf_nan=False)] | Annotated[
    str, StringConstraints(pattern=r"^[0-9]+(\.[0-9]+)?$", max_length=64)]
LongDescription = Annotated[str, StringConstraints(max_length=65535)]
SpecValue = Annotated[str, StringConstraints(max_length=255)] | bool | int | float


class FlavorCreate(RequestBody):
    """The ``flavor`` object of POST /flavors."""

    name: FlavorName
    id: FlavorIdOrNumber | None = None
    ram: PositiveInt
    vcpus: PositiveInt
    disk: NonNegativeInt
    ephemeral: NonNegativeInt | None = Field(None, alias="OS-FLV-EXT-DATA:ephemeral")
    swap: NonNegativeInt | None = None
    rxtx_factor: RxtxFactor | None = None
    is_public: NovaBoolean | None = Field(None, alias="os-flavor-access:is_public")
    description: LongDescription | None = since("2.55")


class FlavorCreateRequest(RequestBody):
    flavor: FlavorCreate


class FlavorUpdate(RequestBody):
    """The ``flavor`` object of PUT /flavors/{id} (2.55+): only the description."""

    description: LongDescription | None


class FlavorUpdateRequest(RequestBody):
    flavor: FlavorUpdate


class ExtraSpecsRequest(RequestBody):
    """POST /flavors/{id}/os-extra_specs: keys and values checked by the handler."""

    extra_specs: dict[Annotated[str, StringConstraints(min_length=1, max_length=255)],
                      SpecValue]


# PUT /flavors/{id}/os-extra_specs/{key} takes {"<key>": value}: one free key,
# checked against the path by the handler.
ExtraSpecItemRequest = dict[Annotated[str, StringConstraints(min_length=1, max_length=255)],
                            SpecValue]


class FlavorListQuery(QueryModel):
    """GET /flavors and /flavors/detail."""

    is_public: QueryStr | None = None
    minRam: QueryInt | None = None
    minDisk: QueryInt | None = None
    sort_key: QueryStr | None = None
    sort_dir: QueryStr | None = None
    limit: QueryInt | None = None
    marker: QueryStr | None = None
