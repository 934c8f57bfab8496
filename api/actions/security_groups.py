"""addSecurityGroup / removeSecurityGroup: a group added to, or removed
from, every port of the server, through the network service (Nova's
``SecurityGroupActionController``).

As in Nova these start no workflow and take no task_state (their rows of
the transitions table accept every state, and a locked server): the ports change
at once (off the event loop) and the answer is 202.  Nova's faults: a group
the project does not have, or a server without ports, 404; a name two
groups share, 409; a port that cannot carry groups, 400; removing a group
the server does not have, 404.  The group is looked up in the server's
project (by id, else by name).
"""

from __future__ import annotations

from typing import Any

from api import security_groups as security_groups_api
from api.actions import action
from api.deps import AppHandles, RequestContext
from api.errors import BadRequest
from api.operations import check_transition
from api.validation import no_extra_keys
from novaflow import security_groups as sg_api
from schema.models import Instance


def group_name(body: Any, name: str) -> str:
    """The ``name`` of ``{"<action>": {"name": ...}}``, checked as Nova's schema does."""
    if not isinstance(body, dict):
        raise BadRequest(f"Invalid input for field/attribute {name}. Value: {body!r:.100}. "
                         f"{body!r:.100} is not of type 'object'")
    no_extra_keys(body, {"name"}, name)
    if "name" not in body:
        raise BadRequest(f"Invalid input for field/attribute {name}. Value: {body!r:.100}. "
                         "'name' is a required property")
    value = body["name"]
    if not isinstance(value, str):
        raise BadRequest(f"Invalid input for field/attribute name. Value: {value!r:.100}. "
                         f"{value!r:.100} is not of type 'string'")
    if not value.strip():
        raise BadRequest("Security group name cannot be empty")
    return value


@action("addSecurityGroup", operations=("addSecurityGroup",))
async def add_security_group(h: AppHandles, ctx: RequestContext, inst: Instance,
                             body: Any) -> None:
    name = group_name(body, "addSecurityGroup")
    check_transition("addSecurityGroup", inst, ctx)
    await security_groups_api.call(h, sg_api.add_to_server, inst.project_id, inst.uuid, name)
    await security_groups_api.refresh_names(h, inst)


@action("removeSecurityGroup", operations=("removeSecurityGroup",))
async def remove_security_group(h: AppHandles, ctx: RequestContext, inst: Instance,
                                body: Any) -> None:
    name = group_name(body, "removeSecurityGroup")
    check_transition("removeSecurityGroup", inst, ctx)
    await security_groups_api.call(h, sg_api.remove_from_server, inst.project_id, inst.uuid,
                                   name)
    await security_groups_api.refresh_names(h, inst)
