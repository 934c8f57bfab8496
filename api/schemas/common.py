"""Types and base models shared by the request schemas.

Numbers are bounded as Nova's database columns are (32-bit signed integers),
so no value can overflow a column or a SQL ``OFFSET``; integers also come as
digit strings where Nova's schemas allow ``['integer', 'string']``, never as
booleans or fractions.  ``since(version)`` marks a field added in a
microversion; ``check_versions`` refuses it in an older request.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    model_validator,
)

from api.errors import BadRequest
from api.legacy_v2 import LEGACY_V2
from api.microversion import APIVersion

MAX_INT = 0x7FFFFFFF  # Nova's db.MAX_INT: the largest value an Integer column holds
_DIGITS = re.compile(r"^-?[0-9]{1,10}$")


def _integer(value: Any) -> Any:
    """Nova's integer-or-digit-string: refuse booleans, fractions and long strings."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not of type 'integer'")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"{value!r} is not of type 'integer'")
        return value
    if isinstance(value, str):
        if not _DIGITS.match(value.strip()):
            raise ValueError(f"{value[:50]!r} is not of type 'integer'")
        return int(value)
    return value


Int = Annotated[int, BeforeValidator(_integer)]
NonNegativeInt = Annotated[Int, Field(ge=0, le=MAX_INT)]
PositiveInt = Annotated[Int, Field(ge=1, le=MAX_INT)]
QuotaLimit = Annotated[Int, Field(ge=-1, le=MAX_INT)]  # -1: unlimited

_TRUE = {"true", "1", "on", "yes"}
_BOOLEAN_WORDS = {"True", "TRUE", "true", "1", "ON", "On", "on", "YES", "Yes", "yes",
                  "False", "FALSE", "false", "0", "OFF", "Off", "off", "NO", "No", "no"}


def _boolean(value: Any) -> Any:
    """Nova's ``parameter_types.boolean``: a JSON boolean or one of its words."""
    if isinstance(value, str):
        if value not in _BOOLEAN_WORDS:
            raise ValueError(f"{value[:50]!r} is not one of Nova's boolean values")
        return value.lower() in _TRUE
    return value


# A JSON boolean or "True"/"yes"/"0"/... as Nova's legacy clients send them.
NovaBoolean = Annotated[StrictBool, BeforeValidator(_boolean)]


def nova_boolean(value: Any) -> bool | None:
    """``value`` as Nova's ``parameter_types.boolean`` reads it; None if it is not one."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value in _BOOLEAN_WORDS:
        return value.lower() in _TRUE
    return None

def _ip(version: int):
    def check(value: Any) -> Any:
        """Nova's 'ipv4'/'ipv6' formats: one address, written as Python writes it."""
        if isinstance(value, str):
            try:
                address = ipaddress.ip_address(value)
            except ValueError:
                raise ValueError(f"{value[:60]!r} is not a 'ipv{version}'") from None
            if address.version != version:
                raise ValueError(f"{value[:60]!r} is not a 'ipv{version}'")
            return str(address)
        return value
    return check


# accessIPv4 / accessIPv6 (Nova's parameter_types.accessIPv4/6).
IPv4Str = Annotated[str, BeforeValidator(_ip(4))]
IPv6Str = Annotated[str, BeforeValidator(_ip(6))]

Str255 = Annotated[str, StringConstraints(max_length=255)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=255)]
Description = Annotated[str, StringConstraints(max_length=255)]
MetadataKey = Annotated[str, StringConstraints(min_length=1, max_length=255,
                                               pattern=r"^[a-zA-Z0-9-_:. ]{1,255}$")]
Metadata = dict[MetadataKey, Str255]
UUIDStr = Annotated[str, StringConstraints(
    pattern=r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?"
            r"[0-9a-fA-F]{12}$")]

# Query strings: digits only, bounded so no SQL OFFSET or comparison overflows.
QueryInt = Annotated[int, Field(ge=0, le=MAX_INT)]
QueryStr = Annotated[str, StringConstraints(max_length=255)]


def since(version: str, **kwargs: Any) -> Any:
    """A field that exists from microversion ``version`` (refused before it)."""
    extra = {"x-openstack-min-version": version}
    return Field(default=None, json_schema_extra=extra, **kwargs)


def until(version: str, **kwargs: Any) -> Any:
    """A field that exists up to microversion ``version`` (refused after it)."""
    extra = {"x-openstack-max-version": version}
    return Field(default=None, json_schema_extra=extra, **kwargs)


class RequestBody(BaseModel):
    """A request body or one of its objects: unknown keys are refused, as in Nova."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _legacy_v2_drops_unknown(cls, data: Any) -> Any:
        """Through /v2 (api/legacy_v2.py) an undeclared key is dropped, not refused."""
        if (LEGACY_V2.get() and isinstance(data, dict)
                and cls.model_config.get("extra") == "forbid"):
            known = set(cls.model_fields) | {f.alias for f in cls.model_fields.values()
                                             if f.alias}
            return {k: v for k, v in data.items() if k in known}
        return data

    def as_dict(self) -> dict:
        """The keys the client sent, validated, under their wire names."""
        return self.model_dump(by_alias=True, exclude_unset=True)


class OpenRequestBody(RequestBody):
    """An object whose unknown keys are kept (scheduler hints, Glance images)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class QueryModel(BaseModel):
    """A query string: declared parameters validated, unknown ones ignored (Nova)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


def _unexpected(where: str, key: str) -> BadRequest:
    return BadRequest(f"Invalid input for field/attribute {where}. Additional properties are "
                      f"not allowed ('{key}' was unexpected)")


def check_versions(model: BaseModel, version: APIVersion, where: str = "") -> None:
    """Refuse fields the request's microversion does not have (Nova's 400)."""
    for name, field in type(model).model_fields.items():
        if name not in model.model_fields_set:
            continue
        key = field.alias or name
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        low, high = extra.get("x-openstack-min-version"), extra.get("x-openstack-max-version")
        if (low and not version.at_least(str(low))) or (
                high and version > APIVersion.parse(str(high))):
            if LEGACY_V2.get():  # undeclared in the base schema: dropped (Nova's soft check)
                setattr(model, name, field.default)
                model.model_fields_set.discard(name)
                continue
            raise _unexpected(where or type(model).__name__, key)
        value = getattr(model, name)
        for item in (value if isinstance(value, list) else [value]):
            if isinstance(item, BaseModel):
                check_versions(item, version, key)


def database_id(text: str) -> int:
    """A numeric id from a path (``/os-services/{id}`` before 2.53), or 400 when it
    cannot be one: 30 digits would overflow the database's integer."""
    if not text.isdigit() or len(text) > 10 or int(text) > MAX_INT:
        raise BadRequest(f"Invalid id {text:.50}: it must be an integer from 0 to {MAX_INT}")
    return int(text)
