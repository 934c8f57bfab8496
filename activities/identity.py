"""Identity: validating tokens and resolving roles.

``TokenBackend`` is the interface; ``LocalTokenBackend`` is the embedded
stack's stand-in (token ``<user>:<project>``, admin when the user is
``admin``).  A Keystone backend implements the same ``validate``.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.types.identity import CheckTokenInput, Identity
from novaflow import errors

_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")


class InvalidToken(Exception):
    """The token is missing, malformed or not valid."""


class TokenBackend(ABC):
    """Turns a token into the identity it stands for."""

    @abstractmethod
    def validate(self, token: str | None) -> Identity:
        """Return the token's identity or raise InvalidToken."""


class LocalTokenBackend(TokenBackend):
    """Tokens of the form ``<user>:<project>``; user ``admin`` is an admin."""

    def validate(self, token: str | None) -> Identity:
        if not token:
            raise InvalidToken("The request you have made requires authentication.")
        user, sep, project = token.partition(":")
        if not sep or not _NAME.match(user) or not _NAME.match(project):
            raise InvalidToken("The request you have made requires authentication.")
        roles = ["member", "reader"] + (["admin"] if user == "admin" else [])
        return Identity(user_id=user, project_id=project, roles=roles)


class IdentityActivities:
    """The token check every operation's workflow starts with."""

    def __init__(self, backend: TokenBackend):
        self.backend = backend

    @activity.defn(name="check_token")
    def check_token(self, inp: CheckTokenInput) -> Identity:
        try:
            ident = self.backend.validate(inp.ctx.token)
        except InvalidToken as exc:
            raise ApplicationError(str(exc), type=errors.INVALID_TOKEN,
                                   non_retryable=True) from exc
        if ident.project_id != inp.ctx.project_id and not ident.is_admin:
            raise ApplicationError("token does not belong to the server's project",
                                   type=errors.INVALID_TOKEN, non_retryable=True)
        return ident
