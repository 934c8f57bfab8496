"""Version discovery as Nova answers it: ``GET /`` lists v2.0 (DEPRECATED, the
legacy v2 endpoint) and v2.1 (CURRENT, with the microversion range);
``GET /v2.1/`` and ``GET /v2/`` describe one version each (``/v2/...`` is
the v2.1 API in Nova's legacy-v2 mode: api/legacy_v2.py)."""

from __future__ import annotations

import copy

from fastapi import APIRouter, Request

from api.microversion import MAX_VERSION, MIN_VERSION

router = APIRouter(tags=["versions"])

_DOCS = {"rel": "describedby", "type": "text/html", "href": "http://docs.openstack.org/"}
VERSIONS = {
    "v2.0": {"id": "v2.0", "status": "DEPRECATED", "version": "", "min_version": "",
             "updated": "2025-07-04T12:00:00Z", "links": [_DOCS],
             "media-types": [{"base": "application/json",
                              "type": "application/vnd.openstack.compute+json;version=2"}]},
    "v2.1": {"id": "v2.1", "status": "CURRENT", "version": str(MAX_VERSION),
             "min_version": str(MIN_VERSION), "updated": "2013-07-23T11:33:21Z",
             "links": [_DOCS],
             "media-types": [{"base": "application/json",
                              "type": "application/vnd.openstack.compute+json;version=2.1"}]},
}


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _href(base: str, version_id: str) -> str:
    return f"{base}/{'v2.1' if version_id == 'v2.1' else 'v2'}/"


def _version(base: str, version_id: str) -> dict:
    doc = copy.deepcopy(VERSIONS[version_id])
    doc["links"].insert(0, {"rel": "self", "href": _href(base, version_id)})
    return doc


@router.get("/")
async def versions(request: Request) -> dict:
    base = _base(request)
    return {"versions": [
        {k: v[k] for k in ("id", "status", "version", "min_version", "updated")}
        | {"links": [{"rel": "self", "href": _href(base, vid)}]}
        for vid, v in sorted(VERSIONS.items())]}


@router.get("/v2.1")
@router.get("/v2.1/")
async def version_v21(request: Request) -> dict:
    return {"version": _version(_base(request), "v2.1")}


@router.get("/v2.1/versions/{version_id}")
async def show_version(version_id: str, request: Request) -> dict:
    """Nova answers v2.1's document whatever the id (v2.0's through /v2)."""
    legacy = getattr(request.state, "legacy_v2", False)
    return {"version": _version(_base(request), "v2.0" if legacy else "v2.1")}


@router.get("/v2")
@router.get("/v2/")
async def version_v2(request: Request) -> dict:
    return {"version": _version(_base(request), "v2.0")}
