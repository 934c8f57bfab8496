"""Small validators for request bodies, raising Nova's 400 messages."""

from __future__ import annotations

import re
import uuid
from typing import Any

from api.errors import BadRequest
from api.legacy_v2 import LEGACY_V2


def require_dict(body: Any, key: str) -> dict:
    """``body[key]`` as a dict, or 400."""
    if not isinstance(body, dict) or not isinstance(body.get(key), dict):
        raise BadRequest(f"Invalid input for field/attribute {key}. "
                         f"Value: {body!r:.100}. '{key}' is a required property")
    return body[key]


def string(d: dict, key: str, *, required: bool = False, max_len: int = 255,
           min_len: int = 0) -> str | None:
    value = d.get(key)
    if value is None:
        if required:
            raise BadRequest(f"Invalid input for field/attribute server. '{key}' is a "
                             "required property")
        return None
    if not isinstance(value, str):
        raise BadRequest(f"Invalid input for field/attribute {key}. Value: {value!r:.100}. "
                         f"{value!r:.100} is not of type 'string'")
    if not (min_len <= len(value) <= max_len):
        raise BadRequest(f"Invalid input for field/attribute {key}. Value: {value!r:.100}. "
                         f"length must be between {min_len} and {max_len}")
    return value


def integer(d: dict, key: str, *, minimum: int = 0, default: int | None = None) -> int | None:
    value = d.get(key, default)
    if value is None:
        return None
    try:
        as_int = int(value)
    except (TypeError, ValueError):
        raise BadRequest(f"Invalid input for field/attribute {key}. Value: {value!r:.100}. "
                         f"{value!r:.100} is not of type 'integer'") from None
    if isinstance(value, bool) or as_int < minimum:
        raise BadRequest(f"Invalid input for field/attribute {key}. Value: {value!r:.100}. "
                         f"{value!r:.100} is less than the minimum of {minimum}")
    return as_int


def is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
        return True
    except ValueError:
        return False


def no_extra_keys(d: dict, allowed: set[str], where: str) -> None:
    extra = sorted(set(d) - allowed)
    if extra and not LEGACY_V2.get():  # /v2 tolerates them (api/legacy_v2.py)
        raise BadRequest(f"Invalid input for field/attribute {where}. Additional properties "
                         f"are not allowed ({', '.join(repr(e) for e in extra)} "
                         f"{'was' if len(extra) == 1 else 'were'} unexpected)")


async def json_body(request: Any) -> Any:
    """The request's JSON body, or Nova's 400 for one that is not JSON."""
    try:
        return await request.json()
    except ValueError:
        raise BadRequest("Malformed request body") from None


_METADATA_KEY = re.compile(r"^[a-zA-Z0-9-_:. ]{1,255}$")


def validate_metadata(value: object, field: str = "metadata") -> dict[str, str]:
    """Nova's metadata schema: keys of 1-255 safe characters, string values <= 255."""
    if not isinstance(value, dict):
        raise BadRequest(f"Invalid input for field/attribute {field}. Value: {value!r:.100}. "
                         f"{value!r:.100} is not of type 'object'")
    for k, v in value.items():
        if not isinstance(k, str) or not _METADATA_KEY.match(k):
            raise BadRequest(f"Invalid input for field/attribute {field}. Value: "
                             f"{value!r:.100}. Additional properties are not allowed "
                             f"({k!r:.100} was unexpected)")
        if not isinstance(v, str) or len(v) > 255:
            raise BadRequest(f"Invalid input for field/attribute {k}. Value: {v!r:.100}. "
                             f"{v!r:.100} is not a string of at most 255 characters")
    return dict(value)
