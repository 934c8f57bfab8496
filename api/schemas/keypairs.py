"""Request schemas of /v2.1/os-keypairs (Nova's ``schemas/keypairs.py``).
The name's allowed characters depend on the microversion; the handler checks
them with Nova's messages."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import StringConstraints

from api.schemas.common import QueryInt, QueryModel, QueryStr, RequestBody, Str255, since


class KeypairCreate(RequestBody):
    name: Annotated[str, StringConstraints(max_length=255)]
    public_key: Annotated[str, StringConstraints(max_length=65535)] | None = None
    type: Literal["ssh", "x509"] | None = since("2.2")
    user_id: Str255 | None = since("2.10")


class KeypairCreateRequest(RequestBody):
    keypair: KeypairCreate


class KeypairListQuery(QueryModel):
    user_id: QueryStr | None = None
    limit: QueryInt | None = None
    marker: QueryStr | None = None


class KeypairShowQuery(QueryModel):
    user_id: QueryStr | None = None
