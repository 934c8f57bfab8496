"""Server actions (``POST /v2.1/servers/{id}/action``), one module per family.

Each family module registers its handlers with ``@action("os-start",
operations=("start",))``, naming the rows of the transitions table
(novaflow/states.py) the action may start; the route looks the body's single
key up here.  A handler gets the handles, the caller, the (visible, not
deleted) instance and the key's value, and returns a Response or None (202,
empty body).  Handlers start workflows only through
``api.operations.start_operation`` (or, for a decision on a running
operation, check the table and send it an Update).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

ActionHandler = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class ServerAction:
    """A registered action: its handler and the table rows it may start."""

    name: str
    handler: ActionHandler
    operations: tuple[str, ...]


ACTIONS: dict[str, ServerAction] = {}


def action(name: str, operations: tuple[str, ...]) -> Callable[[ActionHandler], ActionHandler]:
    def register(fn: ActionHandler) -> ActionHandler:
        ACTIONS[name] = ServerAction(name, fn, operations)
        return fn
    return register
