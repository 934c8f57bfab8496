"""Sorting and marker paging of server lists as Nova does them
(``common.get_sort_params``, ``remove_invalid_sort_keys``, the DB layer's
``process_sort_params`` and ``paginate_query``).

``sort_key``/``sort_dir`` may repeat; missing directions take the first one
given (default ``desc``); ``created_at`` and ``id`` always end the key list so
the order is total.  Keys Nova once accepted but ignores are dropped before
2.75 and refused from it; ``host`` and ``node`` are for admins (403).
The marker is a server the caller may see; the page holds the servers after
it in this order (the marker itself need not pass the filters).
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any

from api.errors import BadRequest, Forbidden
from schema.models import Instance

IGNORED = ['architecture', 'cell_name', 'cleaned', 'default_ephemeral_device',
           'default_swap_device', 'deleted', 'deleted_at', 'disable_terminate',
           'ephemeral_gb', 'ephemeral_key_uuid', 'id', 'key_data', 'launched_on', 'locked',
           'memory_mb', 'os_type', 'reservation_id', 'root_gb', 'shutdown_terminate',
           'user_data', 'vcpus', 'vm_mode']


def _attr(name: str):
    return lambda i: getattr(i, name)


# Nova's sort keys and where a novaflow instance keeps each (None: not kept,
# so every server ties on it).
VALUES = {
    "access_ip_v4": lambda i: None, "access_ip_v6": lambda i: None,
    "auto_disk_config": lambda i: None, "availability_zone": _attr("availability_zone"),
    "config_drive": lambda i: None, "created_at": _attr("created_at"),
    "display_description": _attr("description"), "display_name": _attr("display_name"),
    "host": _attr("host"), "hostname": _attr("hostname"), "image_ref": _attr("image_ref"),
    "instance_type_id": lambda i: (i.flavor or {}).get("flavorid"),
    "kernel_id": lambda i: None, "key_name": _attr("key_name"),
    "launch_index": _attr("launch_index"), "launched_at": _attr("launched_at"),
    "locked_by": _attr("locked_by"), "node": _attr("node"),
    "power_state": _attr("power_state"), "progress": lambda i: None,
    "project_id": _attr("project_id"), "ramdisk_id": lambda i: None,
    "root_device_name": lambda i: None, "task_state": _attr("task_state"),
    "terminated_at": _attr("terminated_at"), "updated_at": _attr("updated_at"),
    "user_id": _attr("user_id"), "uuid": _attr("uuid"), "vm_state": _attr("vm_state"),
    "locked": _attr("locked"), "id": _attr("id"),
}


def sort_params(ctx, q) -> list[tuple[str, bool]]:
    """[(key, descending)] for the request, Nova's defaults and checks applied."""
    keys = [k.strip() for k in q.getlist("sort_key")]
    dirs = [d.strip() for d in q.getlist("sort_dir")]
    ignored = [k for k in IGNORED if not (k == "locked" and ctx.version.at_least("2.73"))]
    allowed = sorted(set(VALUES) - {"id", "locked"} | set(ignored)
                     | ({"locked"} if ctx.version.at_least("2.73") else set()))
    if ctx.version.at_least("2.75"):
        allowed = [k for k in allowed if k not in ignored]
    for key in keys:
        if key not in allowed:
            raise BadRequest(f"Invalid input for query parameters sort_key. Value: {key:.100}. "
                             f"'{key:.100}' is not one of {allowed}")
    for key in list(keys):
        if key in ignored:  # dropped with its direction, as Nova does
            if len(dirs) > keys.index(key):
                dirs.pop(keys.index(key))
            keys.remove(key)
        elif key in ("host", "node") and not ctx.is_admin:
            raise Forbidden(f"Only administrators can sort servers by {key}")
    for d in dirs:
        if d not in ("asc", "desc"):
            raise BadRequest(f"Invalid input for query parameters sort_dir. Value: {d:.100}. "
                             f"'{d:.100}' is not one of ['asc', 'desc']")
    if len(dirs) > max(len(keys), 1):
        raise BadRequest("Sort direction size exceeds sort key size")
    default = dirs[0] if dirs else "desc"
    dirs += [default] * (len(keys) - len(dirs))
    params = list(zip(keys, dirs, strict=True))
    for key in ("created_at", "id"):
        if key not in keys:
            params.append((key, default))
    return [(k, d == "desc") for k, d in params]


def _comparable(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _compare(params, a: Instance, b: Instance) -> int:
    for key, desc in params:
        x, y = _comparable(VALUES[key](a)), _comparable(VALUES[key](b))
        if x == y:
            continue
        # None sorts first ascending (as SQLite and MySQL put NULLs).
        less = True if x is None else False if y is None else x < y
        result = -1 if less else 1
        return -result if desc else result
    return 0


def sort_rows(rows: list[Instance], params) -> list[Instance]:
    return sorted(rows, key=functools.cmp_to_key(functools.partial(_compare, params)))


def after(rows: list[Instance], marker: Instance, params) -> list[Instance]:
    """The (sorted) rows that come after ``marker`` in the order."""
    return [r for r in rows if _compare(params, r, marker) > 0]
