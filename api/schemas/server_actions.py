"""Request schemas of POST /v2.1/servers/{id}/action, one model per action
(Nova's ``schemas/servers.py`` reboot/resize, ``migrate_server.py``;
the day-2 ones in ``day2_actions.py``), and ``ServerActionRequest``: the
body holds exactly one of them, for every action ``api/actions`` serves.

``ServerActionRequest`` is the action route's body in the OpenAPI document
(api/routes/server_actions.py), so tools can validate and fuzz actions; each
handler in ``api/actions`` checks its own value with Nova's error texts and
microversion rules.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from api.schemas.common import NovaBoolean, RequestBody, Str255, since, until
from api.schemas.day2_actions import (
    ChangePassword,
    CreateBackup,
    CreateImage,
    Evacuate,
    GetSerialConsole,
    GetVNCConsole,
    Lock,
    Rebuild,
    Rescue,
    ResetState,
    Unshelve,
)


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


class SecurityGroupAction(RequestBody):
    """``addSecurityGroup`` / ``removeSecurityGroup``: the group's name or id."""

    name: Annotated[str, StringConstraints(min_length=1)]


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
    # Day-2 operations (api/schemas/day2_actions.py).
    create_image: CreateImage | None = Field(None, alias="createImage")
    create_backup: CreateBackup | None = Field(None, alias="createBackup")
    rebuild: Rebuild | None = None
    evacuate: Evacuate | None = None
    shelve: None = None
    shelve_offload: None = Field(None, alias="shelveOffload")
    unshelve: Unshelve | None = None
    rescue: Rescue | None = None
    unrescue: None = None
    lock: Lock | None = None
    unlock: None = None
    restore: None = None
    force_delete: None = Field(None, alias="forceDelete")
    reset_state: ResetState | None = Field(None, alias="os-resetState")
    change_password: ChangePassword | None = Field(None, alias="changePassword")
    trigger_crash_dump: None = None
    get_vnc_console: GetVNCConsole | None = Field(None, alias="os-getVNCConsole")
    get_serial_console: GetSerialConsole | None = Field(None, alias="os-getSerialConsole")
    # Security groups (api/actions/security_groups.py).
    add_security_group: SecurityGroupAction | None = Field(None, alias="addSecurityGroup")
    remove_security_group: SecurityGroupAction | None = Field(None,
                                                              alias="removeSecurityGroup")

    @model_validator(mode="after")
    def _exactly_one(self) -> ServerActionRequest:
        if len(self.model_fields_set) != 1:
            raise ValueError("There is no such action: the body must hold exactly one action")
        return self
