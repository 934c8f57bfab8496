"""Request schemas of /v2.1/os-quota-sets (Nova's ``schemas/quota_sets.py``):
every limit an integer from -1 (unlimited) to MAX_INT; 1.5 is refused."""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator

from api.schemas.common import QuotaLimit, RequestBody, until


def _force(value: object) -> object:
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
        return value.lower() in ("true", "1")
    return value


class QuotaSetUpdate(RequestBody):
    """The ``quota_set`` object of PUT /os-quota-sets/{project}."""

    instances: QuotaLimit | None = None
    cores: QuotaLimit | None = None
    ram: QuotaLimit | None = None
    key_pairs: QuotaLimit | None = None
    metadata_items: QuotaLimit | None = None
    server_groups: QuotaLimit | None = None
    server_group_members: QuotaLimit | None = None
    force: Annotated[bool, BeforeValidator(_force)] | None = None
    # Gone at 2.36 (network proxies) and 2.57 (file injection), as in Nova.
    fixed_ips: QuotaLimit | None = until("2.35")
    floating_ips: QuotaLimit | None = until("2.35")
    security_group_rules: QuotaLimit | None = until("2.35")
    security_groups: QuotaLimit | None = until("2.35")
    networks: QuotaLimit | None = until("2.35")
    injected_file_content_bytes: QuotaLimit | None = until("2.56")
    injected_file_path_bytes: QuotaLimit | None = until("2.56")
    injected_files: QuotaLimit | None = until("2.56")


class QuotaSetUpdateRequest(RequestBody):
    quota_set: QuotaSetUpdate
