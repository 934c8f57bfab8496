"""Query schemas of the remaining lists: migrations, instance actions, limits."""

from __future__ import annotations

from pydantic import Field

from api.schemas.common import QueryInt, QueryModel, QueryStr


class MigrationListQuery(QueryModel):
    status: QueryStr | None = None
    instance_uuid: QueryStr | None = None
    source_compute: QueryStr | None = None
    migration_type: QueryStr | None = None
    host: QueryStr | None = None
    user_id: QueryStr | None = None  # 2.80+
    project_id: QueryStr | None = None  # 2.80+
    changes_since: QueryStr | None = Field(None, alias="changes-since")
    changes_before: QueryStr | None = Field(None, alias="changes-before")
    limit: QueryInt | None = None
    marker: QueryStr | None = None


class InstanceActionListQuery(QueryModel):
    changes_since: QueryStr | None = Field(None, alias="changes-since")
    changes_before: QueryStr | None = Field(None, alias="changes-before")
    limit: QueryInt | None = None
    marker: QueryStr | None = None


class LimitsQuery(QueryModel):
    tenant_id: QueryStr | None = None
