"""Request schemas of the Neutron (/networking/v2.0) stand-in's writes and
lists."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from api.schemas.common import (
    OpenRequestBody,
    QueryModel,
    QueryStr,
    RequestBody,
    Str255,
)


class NetworkCreate(OpenRequestBody):
    name: Str255 | None = None
    shared: bool | None = None
    admin_state_up: bool | None = None
    mtu: Annotated[int, Field(ge=68, le=65535)] | None = None
    project_id: Str255 | None = None
    tenant_id: Str255 | None = None


class NetworkCreateRequest(RequestBody):
    network: NetworkCreate


class SubnetCreate(OpenRequestBody):
    network_id: Str255
    cidr: Str255
    name: Str255 | None = None
    ip_version: Literal[4] | None = None
    gateway_ip: Str255 | None = None
    enable_dhcp: bool | None = None

    @field_validator("cidr")
    @classmethod
    def _strict_cidr(cls, value: str) -> str:
        # Neutron refuses host bits: 10.0.0.5/24 is not a subnet.
        try:
            ipaddress.ip_network(value, strict=True)
        except ValueError as exc:
            raise ValueError(f"'{value:.50}' is not a valid IP subnet ({exc})") from None
        return value

    @field_validator("gateway_ip")
    @classmethod
    def _address(cls, value: Any) -> Any:
        if value is not None:
            ipaddress.ip_address(value)
        return value


class SubnetCreateRequest(RequestBody):
    subnet: SubnetCreate


class NeutronListQuery(QueryModel):
    """Neutron list filters: any field, repeatable; the common ones declared."""

    name: list[QueryStr] | None = None
    id: list[QueryStr] | None = None
    network_id: list[QueryStr] | None = None
    device_id: list[QueryStr] | None = None
    project_id: list[QueryStr] | None = None


class PortCreate(OpenRequestBody):
    """POST /networking/v2.0/ports: the fields the stand-in honours."""

    network_id: Str255
    name: Str255 | None = None
    device_id: Str255 | None = None
    device_owner: Str255 | None = None
    project_id: Str255 | None = None
    tenant_id: Str255 | None = None
    binding_host_id: Str255 | None = Field(default=None, alias="binding:host_id")
    admin_state_up: bool | None = None
    security_groups: list[Str255] | None = None


class PortCreateRequest(RequestBody):
    port: PortCreate


class PortUpdate(OpenRequestBody):
    """PUT /networking/v2.0/ports/{id}: what Nova changes on a port."""

    name: Str255 | None = None
    device_id: Str255 | None = None
    device_owner: Str255 | None = None
    binding_host_id: Str255 | None = Field(default=None, alias="binding:host_id")
    security_groups: list[Str255] | None = None


class PortUpdateRequest(RequestBody):
    port: PortUpdate


class SecurityGroupCreate(OpenRequestBody):
    """POST /networking/v2.0/security-groups."""

    name: Str255 | None = None
    description: Str255 | None = None
    project_id: Str255 | None = None
    tenant_id: Str255 | None = None
    stateful: bool | None = None


class SecurityGroupCreateRequest(RequestBody):
    security_group: SecurityGroupCreate


class SecurityGroupUpdate(OpenRequestBody):
    """PUT /networking/v2.0/security-groups/{id}."""

    name: Str255 | None = None
    description: Str255 | None = None
    stateful: bool | None = None


class SecurityGroupUpdateRequest(RequestBody):
    security_group: SecurityGroupUpdate


class SecurityGroupRuleCreate(OpenRequestBody):
    """POST /networking/v2.0/security-group-rules (checked in Neutron's words
    by the route: direction and security_group_id are required there)."""

    security_group_id: Str255 | None = None
    direction: Str255 | None = None
    ethertype: Str255 | None = None
    protocol: Str255 | int | None = None
    port_range_min: int | Str255 | None = None
    port_range_max: int | Str255 | None = None
    remote_ip_prefix: Str255 | None = None
    remote_group_id: Str255 | None = None
    description: Str255 | None = None
    project_id: Str255 | None = None
    tenant_id: Str255 | None = None


class SecurityGroupRuleCreateRequest(RequestBody):
    security_group_rule: SecurityGroupRuleCreate
