"""Server actions (``POST /v2.1/servers/{id}/action``), one module per family.

Each family module registers its handlers with ``@action("os-start")``; the
route looks the body's single key up here.  A handler gets the handles, the
caller, the (visible, not deleted) instance and the key's value, and returns
a Response or None (202, empty body).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

ActionHandler = Callable[..., Awaitable[Any]]
ACTIONS: dict[str, ActionHandler] = {}


def action(name: str) -> Callable[[ActionHandler], ActionHandler]:
    def register(fn: ActionHandler) -> ActionHandler:
        ACTIONS[name] = fn
        return fn
    return register
