"""Security groups as Nova's ``security_group_api`` uses them, through
openstacksdk against the network service (the stand-in or a real Neutron),
as the control plane's service user acting for one project.

``resolve`` is the boot's check of the requested groups (Nova's
``validate_name``: an id, else a unique name in the project);
``groups_of_servers`` reads the groups a server's ports carry (Nova's
``get_instances_security_groups_bindings``); ``add_to_server`` and
``remove_from_server`` change every port of a server.  Each failure Nova
maps to a status is an exception here carrying Nova's message.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openstack.exceptions

# Neutron's URLs have a fixed maximum length: ids go in chunks (Nova's MAX_SEARCH_IDS).
MAX_SEARCH_IDS = 150


class SecurityGroupError(Exception):
    """A refusal Nova answers with ``status``; ``message`` is Nova's."""

    status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class SecurityGroupNotFound(SecurityGroupError):
    status = 404


class NoUniqueMatch(SecurityGroupError):
    status = 409


class CannotBeApplied(SecurityGroupError):
    status = 400


class StateConflict(SecurityGroupError):
    status = 409


def _chunks(ids: list[str]) -> Iterator[list[str]]:
    for i in range(0, len(ids), MAX_SEARCH_IDS):
        yield ids[i:i + MAX_SEARCH_IDS]


def find(conn, project_id: str, ref: str) -> str | None:
    """The id of the project's group ``ref`` (an id, else a unique name); None
    when there is none (neutronclient's find_resourceid_by_name_or_id)."""
    net = conn.network
    try:
        group = net.get_security_group(ref)
        if group.project_id == project_id:
            return group.id
    except openstack.exceptions.NotFoundException:
        pass
    named = [g.id for g in net.security_groups(project_id=project_id, name=ref)]
    if len(named) > 1:
        raise NoUniqueMatch(f"Multiple security_group matches found for name '{ref}', use "
                            "an ID to be more specific.")
    return named[0] if named else None


def resolve(conn, project_id: str, refs: list[str]) -> list[str]:
    """The ids of a boot's requested groups; [] for Neutron's default alone
    (Nova leaves "default" to Neutron, which gives a new port that group)."""
    if not refs or list(dict.fromkeys(refs)) == ["default"]:
        return []
    ids = []
    for ref in dict.fromkeys(refs):
        found = find(conn, project_id, ref)
        if found is None:
            # Nova's SecurityGroupNotFound carries neutronclient's message.
            raise SecurityGroupNotFound(
                f"Unable to find security_group with name or id '{ref}'")
        ids.append(found)
    return list(dict.fromkeys(ids))


def _ports(conn, server_ids: list[str]) -> list[Any]:
    ports = []
    for chunk in _chunks(server_ids):
        ports.extend(conn.network.ports(device_id=chunk))
    return ports


def _groups(conn, ids: set[str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for chunk in _chunks(sorted(ids)):
        for g in conn.network.security_groups(id=chunk):
            found[g.id] = g
    return found


def groups_of_servers(conn, server_ids: list[str]) -> dict[str, list[Any]]:
    """Each server's groups (openstacksdk SecurityGroup objects, with their
    rules), once each, in the order of its ports."""
    if not server_ids:
        return {}
    ports = _ports(conn, server_ids)
    groups = _groups(conn, {g for p in ports for g in p.security_group_ids or []})
    out: dict[str, list[Any]] = {}
    for p in ports:
        have = out.setdefault(p.device_id, [])
        for gid in p.security_group_ids or []:
            if gid in groups and groups[gid] not in have:
                have.append(groups[gid])
    return out


def names_of_server(conn, server_id: str) -> list[str]:
    """The server's groups by name (the id when unnamed), as its view shows them."""
    return [g.name or g.id for g in groups_of_servers(conn, [server_id]).get(server_id, [])]


def _server_ports(conn, server_id: str) -> list[Any]:
    ports = list(conn.network.ports(device_id=server_id))
    if not ports:
        raise SecurityGroupNotFound(f"instance_id {server_id} could not be found as device "
                                    "id on any ports")
    return ports


def _group_id(conn, project_id: str, name: str) -> str:
    found = find(conn, project_id, name)
    if found is None:
        raise SecurityGroupNotFound(f"Security group {name} is not found for project "
                                    f"{project_id}")
    return found


def add_to_server(conn, project_id: str, server_id: str, name: str) -> None:
    """Add the group to every port of the server (Nova's ``add_to_instance``)."""
    group_id = _group_id(conn, project_id, name)
    for port in _server_ports(conn, server_id):
        if not (port.fixed_ips and port.is_port_security_enabled is not False):
            raise CannotBeApplied("Network requires port_security_enabled and subnet "
                                  "associated in order to apply security groups.")
        groups = list(port.security_group_ids or [])
        if group_id in groups:
            continue
        try:
            conn.network.update_port(port.id, security_group_ids=[*groups, group_id])
        except openstack.exceptions.ConflictException as exc:
            raise StateConflict(exc.details or str(exc)) from exc
        except openstack.exceptions.BadRequestException as exc:
            raise CannotBeApplied(exc.details or str(exc)) from exc


def remove_from_server(conn, project_id: str, server_id: str, name: str) -> None:
    """Remove the group from the server's ports that have it (Nova's
    ``remove_from_instance``: 404 when none has it)."""
    group_id = _group_id(conn, project_id, name)
    removed = False
    for port in _server_ports(conn, server_id):
        groups = list(port.security_group_ids or [])
        if group_id not in groups:
            continue
        groups.remove(group_id)
        conn.network.update_port(port.id, security_group_ids=groups)
        removed = True
    if not removed:
        raise SecurityGroupNotFound(f"Security group {name} not associated with the "
                                    f"instance {server_id}")
