"""Request schema of PUT /v2.1/os-hosts/{host} (Nova's ``schemas/hosts.py``):
``status`` and/or ``maintenance_mode``, each enable or disable."""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator

from api.schemas.common import RequestBody

EnableDisable = Literal["enable", "disable", "Enable", "Disable", "ENABLE", "DISABLE"]


class HostUpdateRequest(RequestBody):
    status: EnableDisable | None = None
    maintenance_mode: EnableDisable | None = None

    @model_validator(mode="after")
    def _one_of(self) -> HostUpdateRequest:
        if not self.model_fields_set:
            raise ValueError("'status' or 'maintenance_mode' is required")
        return self
