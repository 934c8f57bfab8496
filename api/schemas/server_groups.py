"""Request schemas of /v2.1/os-server-groups (Nova's ``schemas/server_groups.py``):
``policies`` (a list of one) before 2.64, ``policy`` and ``rules`` from it;
the handler picks between them with Nova's messages."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

from api.schemas.common import (
    Name,
    PositiveInt,
    QueryInt,
    QueryModel,
    QueryStr,
    RequestBody,
    since,
    until,
)

Policy = Annotated[str, StringConstraints(max_length=255)]


class Rules(RequestBody):
    """2.64+ rules of an anti-affinity group."""

    max_server_per_host: PositiveInt | None = None


class ServerGroupCreate(RequestBody):
    name: Name
    policies: list[Policy] | None = until("2.63", max_length=16)  # the handler wants one
    policy: Policy | None = since("2.64")
    rules: Rules | None = since("2.64")


class ServerGroupCreateRequest(RequestBody):
    server_group: ServerGroupCreate


class ServerGroupListQuery(QueryModel):
    all_projects: QueryStr | None = None
    limit: QueryInt | None = None
    offset: QueryInt | None = None
