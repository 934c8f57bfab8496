"""Server tags in the database: read, replace, validate, and the list filters
(``GET /servers?tags=...``) Nova applies.  Used by the tag routes, server
create (2.52) and the server lists."""

from __future__ import annotations

import re

from sqlalchemy import delete as sql_delete
from sqlmodel import Session, select

from api.errors import BadRequest
from api.schemas.server_tags import MAX_TAGS
from schema.models import Instance, InstanceTag

_TAG = re.compile(r"^[^,/]{1,60}$")


def valid_tag(tag: str) -> bool:
    return bool(_TAG.match(tag))


def check_tags(tags: list[str]) -> list[str]:
    """A create request's ``tags`` (2.52), or Nova's 400."""
    if len(tags) > MAX_TAGS:
        raise BadRequest(f"Invalid input for field/attribute tags. Value: {tags!r:.100}. "
                         f"{tags!r:.100} is too long")
    for tag in tags:
        if not valid_tag(tag):
            raise BadRequest(f"Invalid input for field/attribute tags. Value: {tag!r:.100}. "
                             f"{tag!r:.100} does not match '^[^,/]*$'")
    return tags


def tags_of(s: Session, uuids: list[str]) -> dict[str, list[str]]:
    """server uuid -> its tags, in the order they were added."""
    out: dict[str, list[str]] = {u: [] for u in uuids}
    if not uuids:
        return out
    for uuid, tag in s.exec(select(InstanceTag.instance_uuid, InstanceTag.tag)
                            .where(InstanceTag.instance_uuid.in_(uuids))
                            .order_by(InstanceTag.id)).all():
        out[uuid].append(tag)
    return out


def set_tags(s: Session, uuid: str, tags: list[str]) -> list[str]:
    """Replace a server's tags (duplicates dropped, order kept)."""
    unique = list(dict.fromkeys(tags))
    s.execute(sql_delete(InstanceTag).where(InstanceTag.instance_uuid == uuid))
    for tag in unique:
        s.add(InstanceTag(instance_uuid=uuid, tag=tag))
    return unique


# -- list filters (GET /servers?tags=a,b&tags-any=...&not-tags=...) ------------

TAG_FILTERS = ("tags", "tags-any", "not-tags", "not-tags-any")


def tag_filter(s: Session, q, rows: list[Instance]) -> list[Instance]:
    """Nova's tag filters: ``tags`` all of, ``tags-any`` one of, ``not-tags`` not
    all of, ``not-tags-any`` none of (each a comma-separated list)."""
    wanted = {k: [t for t in q[k].split(",") if t] for k in TAG_FILTERS if k in q}
    wanted = {k: v for k, v in wanted.items() if v}
    if not wanted or not rows:
        return rows
    have = {u: set(t) for u, t in tags_of(s, [r.uuid for r in rows]).items()}

    def keep(r: Instance) -> bool:
        tags = have.get(r.uuid, set())
        return all((
            "tags" not in wanted or set(wanted["tags"]) <= tags,
            "tags-any" not in wanted or bool(set(wanted["tags-any"]) & tags),
            "not-tags" not in wanted or not set(wanted["not-tags"]) <= tags,
            "not-tags-any" not in wanted or not set(wanted["not-tags-any"]) & tags,
        ))
    return [r for r in rows if keep(r)]


def show_tags(s: Session, ctx, bodies: list[dict]) -> None:
    """Fill the ``tags`` a server shows from 2.26 (views.server_detail leaves [])."""
    if not ctx.version.at_least("2.26") or not bodies:
        return
    found = tags_of(s, [b["id"] for b in bodies])
    for body in bodies:
        body["tags"] = found.get(body["id"], [])
