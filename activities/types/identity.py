"""The token check every operation starts with.

One dataclass per call, ids and small values only: workflows import this.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from activities.types.context import OpContext


@dataclass
class Identity:
    user_id: str
    project_id: str
    roles: list[str] = field(default_factory=list)
    user_name: str = ""
    project_name: str = ""
    domain_id: str = ""

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles


@dataclass
class CheckTokenInput:
    ctx: OpContext
