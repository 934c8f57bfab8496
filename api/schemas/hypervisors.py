"""Query schemas of /v2.1/os-hypervisors (Nova's ``schemas/hypervisors.py``)."""

from __future__ import annotations

from api.schemas.common import QueryInt, QueryModel, QueryStr


class HypervisorListQuery(QueryModel):
    with_servers: QueryStr | None = None  # 2.53+
    hypervisor_hostname_pattern: QueryStr | None = None  # 2.53+
    limit: QueryInt | None = None
    marker: QueryStr | None = None


class HypervisorShowQuery(QueryModel):
    with_servers: QueryStr | None = None
