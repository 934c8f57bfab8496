"""/v2.1/os-volumes_boot: Nova's old alias of /servers (boot from volume was an
extension once).  Nova routes it to the same controller, so it is the same
handlers here, under the same policy rules."""

from __future__ import annotations

from fastapi import APIRouter

from api.routes import server_actions, servers

router = APIRouter(prefix="/v2.1/os-volumes_boot", tags=["servers"])

for _path, _handler, _methods, _status in (
        ("", servers.list_servers, ["GET"], 200),
        ("", servers.create_server, ["POST"], 202),
        ("/detail", servers.list_servers_detail, ["GET"], 200),
        ("/{server_id}", servers.show_server, ["GET"], 200),
        ("/{server_id}", servers.update_server, ["PUT"], 200),
        ("/{server_id}", servers.delete_server, ["DELETE"], 204),
        ("/{server_id}/action", server_actions.server_action, ["POST"], 200)):
    router.add_api_route(_path, _handler, methods=_methods, status_code=_status,
                         include_in_schema=False)
