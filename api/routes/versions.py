"""Version discovery: ``GET /`` and ``GET /v2.1/``."""

from __future__ import annotations

from fastapi import APIRouter, Request

from api.microversion import MAX_VERSION, MIN_VERSION

router = APIRouter(tags=["versions"])


def _version(base: str) -> dict:
    return {
        "id": "v2.1",
        "status": "CURRENT",
        "version": str(MAX_VERSION),
        "min_version": str(MIN_VERSION),
        "updated": "2013-07-23T11:33:21Z",
        "links": [{"rel": "self", "href": f"{base}/v2.1/"},
                  {"rel": "describedby", "type": "text/html",
                   "href": "http://docs.openstack.org/"}],
        "media-types": [{"base": "application/json",
                         "type": "application/vnd.openstack.compute+json;version=2.1"}],
    }


@router.get("/")
async def versions(request: Request) -> dict:
    return {"versions": [_version(str(request.base_url).rstrip("/"))]}


@router.get("/v2.1")
@router.get("/v2.1/")
async def version_v21(request: Request) -> dict:
    return {"version": _version(str(request.base_url).rstrip("/"))}
