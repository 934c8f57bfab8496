"""Remote consoles' access tokens, as Nova's consoleauth keeps them.

A token is 32 random bytes (URL-safe text) handed to the client once, inside
the console URL; the database keeps only its SHA-256 with where the console
is (instance, host, port, type) and when the token expires.  The console
proxy *consumes* a token: the row is deleted by the same statement that
checks it, so of two connections racing with one token exactly one wins.
Expired rows are purged whenever a new token is issued.
"""

from __future__ import annotations

import hashlib
import secrets
import time

from sqlalchemy import delete
from sqlmodel import Session, select

from schema.models import ConsoleAuthToken


def token_hash(token: str) -> str:
    """The SHA-256 (hex) the database keeps in place of ``token``."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def issue(s: Session, *, instance_uuid: str, console_type: str, host: str, port: int,
          internal_access_path: str | None, ttl: int, now: float | None = None) -> str:
    """Store a new token's hash for this console; return the token (the only
    time it exists in clear)."""
    now = time.time() if now is None else now
    s.execute(delete(ConsoleAuthToken).where(ConsoleAuthToken.expires <= int(now)))
    token = secrets.token_urlsafe(32)
    s.add(ConsoleAuthToken(token_hash=token_hash(token), console_type=console_type, host=host,
                           port=port, internal_access_path=internal_access_path,
                           instance_uuid=instance_uuid, expires=int(now + ttl)))
    return token


def find(s: Session, token: str, now: float | None = None) -> ConsoleAuthToken | None:
    """The live (unexpired, unused) token's record, else None."""
    now = time.time() if now is None else now
    row = s.exec(select(ConsoleAuthToken)
                 .where(ConsoleAuthToken.token_hash == token_hash(token))).first()
    return row if row is not None and row.expires > now else None


def consume(s: Session, token: str, now: float | None = None) -> ConsoleAuthToken | None:
    """Use the token up: its record if it was live (and is now gone), else None."""
    row = find(s, token, now)
    if row is None:
        return None
    gone = s.execute(delete(ConsoleAuthToken).where(ConsoleAuthToken.id == row.id))
    return row if gone.rowcount == 1 else None
