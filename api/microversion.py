"""Compute API microversions: parsing the request headers, echoing the answer.

Clients ask with ``OpenStack-API-Version: compute X.Y`` (or the legacy
``X-OpenStack-Nova-API-Version: X.Y``); no header means 2.1, ``latest`` the
maximum; anything outside [MIN, MAX] is answered 406.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import total_ordering

from api.errors import BadRequest, NotAcceptable


@total_ordering
@dataclass(frozen=True)
class APIVersion:
    major: int
    minor: int

    @classmethod
    def parse(cls, text: str) -> APIVersion:
        # At most 4 digits a part: Python refuses int() of over 4300 digits,
        # and no microversion will ever need five.
        m = re.fullmatch(r"\s*([0-9]{1,4})\.([0-9]{1,4})\s*", text)
        if not m:
            raise BadRequest(f"API Version String {text:.50} is of invalid format. "
                             "Must be of format MajorNum.MinorNum.")
        return cls(int(m.group(1)), int(m.group(2)))

    def __lt__(self, other: APIVersion) -> bool:
        return (self.major, self.minor) < (other.major, other.minor)

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"

    def at_least(self, text: str) -> bool:
        return self >= APIVersion.parse(text)


MIN_VERSION = APIVersion(2, 1)
MAX_VERSION = APIVersion(2, 96)


def requested_version(headers) -> APIVersion:
    """The microversion the request asks for (406 if unsupported)."""
    text = None
    for value in headers.getlist("openstack-api-version"):
        for part in value.split(","):
            service, _, ver = part.strip().partition(" ")
            if service.lower() == "compute":
                text = ver
    if text is None:
        text = headers.get("x-openstack-nova-api-version")
    if text is None:
        return MIN_VERSION
    if text.strip().lower() == "latest":
        return MAX_VERSION
    ver = APIVersion.parse(text)
    if not MIN_VERSION <= ver <= MAX_VERSION:
        raise NotAcceptable(f"Version {ver} is not supported by the API. Minimum is "
                            f"{MIN_VERSION} and maximum is {MAX_VERSION}.")
    return ver


def response_headers(ver: APIVersion) -> dict[str, str]:
    return {
        "OpenStack-API-Version": f"compute {ver}",
        "X-OpenStack-Nova-API-Version": str(ver),
        "Vary": "OpenStack-API-Version, X-OpenStack-Nova-API-Version",
    }
