"""Request schemas of /v2.1/servers/{id}/tags (Nova's ``schemas/server_tags.py``):
a tag is 1-60 characters without ``/`` or ``,``, a server has at most 50."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from api.schemas.common import RequestBody

MAX_TAGS = 50
Tag = Annotated[str, StringConstraints(min_length=1, max_length=60, pattern=r"^[^,/]*$")]
TagList = Annotated[list[Tag], Field(max_length=MAX_TAGS)]


class ServerTagsRequest(RequestBody):
    """PUT /servers/{id}/tags: the server's whole tag list."""

    tags: TagList
