"""Request schema of PUT /v2.1/os-quota-class-sets/{class} (Nova's
``schemas/quota_classes.py``): the quota-set resources, the nova-network ones
gone at 2.50 and file injection's at 2.57."""

from __future__ import annotations

from api.schemas.common import QuotaLimit, RequestBody, until


class QuotaClassSetUpdate(RequestBody):
    instances: QuotaLimit | None = None
    cores: QuotaLimit | None = None
    ram: QuotaLimit | None = None
    key_pairs: QuotaLimit | None = None
    metadata_items: QuotaLimit | None = None
    server_groups: QuotaLimit | None = None
    server_group_members: QuotaLimit | None = None
    fixed_ips: QuotaLimit | None = until("2.49")
    floating_ips: QuotaLimit | None = until("2.49")
    security_group_rules: QuotaLimit | None = until("2.49")
    security_groups: QuotaLimit | None = until("2.49")
    networks: QuotaLimit | None = until("2.49")
    injected_file_content_bytes: QuotaLimit | None = until("2.56")
    injected_file_path_bytes: QuotaLimit | None = until("2.56")
    injected_files: QuotaLimit | None = until("2.56")


class QuotaClassSetUpdateRequest(RequestBody):
    quota_class_set: QuotaClassSetUpdate
