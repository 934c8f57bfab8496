"""Request schemas of POST /v2.1/servers/{id}/action, one model per action
(Nova's ``schemas/servers.py`` reboot/resize, ``migrate_server.py``,
``evacuate``-free subset), and ``ServerActionRequest``: the body holds
exactly one of them.

``ServerActionRequest`` is the action route's body in the OpenAPI document
(api/routes/server_actions.py), so tools can validate and fuzz actions; each
handler in ``api/actions`` checks its own value with Nova's error texts and
microversion rules.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from api.schemas.common import NovaBoolean, RequestBody, Str255, since, until


class Reboot(RequestBody):
    type: Literal["SOFT", "HARD", "soft", "hard"]


class Resize(RequestBody):
    flavorRef: Str255 | int
    disk_config: Literal["AUTO", "MANUAL"] | None = Field(None, alias="OS-DCF:diskConfig")


class Migrate(RequestBody):
    """``migrate``: null before 2.56; an optional target ``host`` from 2.56."""

    host: Str255 | None = since("2.56")


class LiveMigrate(RequestBody):
    """``os-migrateLive``: block_migration may be "auto" from 2.25."""

    host: Str255 | None
    block_migration: NovaBoolean | Literal["auto"]
    disk_over_commit: NovaBoolean | None = until("2.24")
    force: NovaBoolean | None = Field(None, json_schema_extra={
        "x-openstack-min-version": "2.30", "x-openstack-max-version": "2.67"})


class GetConsoleOutput(RequestBody):
    """``os-getConsoleOutput``: the last ``length`` lines (-1 or null: all)."""

    length: int | str | None = None


# Actions whose body is ``null``: os-start, os-stop, pause, unpause, suspend,
# resume, confirmResize, revertResize.
NO_BODY = ("os-start", "os-stop", "pause", "unpause", "suspend", "resume", "confirmResize",
           "revertResize")

ACTION_BODIES: dict[str, type[RequestBody] | None] = {
    "reboot": Reboot, "resize": Resize, "migrate": Migrate, "os-migrateLive": LiveMigrate,
    "os-getConsoleOutput": GetConsoleOutput, **{name: None for name in NO_BODY},
}


class ServerActionRequest(RequestBody):
    """The action body: exactly one key, the action's name."""

    reboot: Reboot | None = None
    resize: Resize | None = None
    migrate: Migrate | None = None
    live_migrate: LiveMigrate | None = Field(None, alias="os-migrateLive")
    start: None = Field(None, alias="os-start")
    stop: None = Field(None, alias="os-stop")
    pause: None = None
    unpause: None = None
    suspend: None = None
    resume: None = None
    confirm_resize: None = Field(None, alias="confirmResize")
    revert_resize: None = Field(None, alias="revertResize")
    get_console_output: GetConsoleOutput | None = Field(None, alias="os-getConsoleOutput")

    @model_validator(mode="after")
    def _exactly_one(self) -> ServerActionRequest:
        if len(self.model_fields_set) != 1:
            raise ValueError("There is no such action: the body must hold exactly one action")
        return self
