"""Engines and sessions for the app database.

SQLite (the embedded default) serialises writers; a transaction that starts
as a reader and later writes can fail at once with "database is locked"
instead of waiting.  So writers use their own engine whose transactions open
with ``BEGIN IMMEDIATE`` and wait up to ``busy_timeout``; readers use plain
``BEGIN`` and never block writers (WAL).  On PostgreSQL both are one engine.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

from schema import host_changes  # noqa: F401  (registers the change-log session events)


def _sqlite_engine(url: str, immediate: bool) -> Engine:
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": 60},
        pool_size=8,
        max_overflow=16,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


class Database:
    """The read and write engines of one database URL."""

    def __init__(self, url: str):
        self.url = url
        if url.startswith("sqlite"):
            self.read_engine = _sqlite_engine(url, immediate=False)
            self.write_engine = _sqlite_engine(url, immediate=True)
        else:
            self.read_engine = self.write_engine = create_engine(url, pool_pre_ping=True)

    @contextmanager
    def reader(self) -> Iterator[Session]:
        """A session for reads only."""
        with Session(self.read_engine) as session:
            yield session

    @contextmanager
    def writer(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on error."""
        with Session(self.write_engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def dispose(self) -> None:
        self.read_engine.dispose()
        if self.write_engine is not self.read_engine:
            self.write_engine.dispose()


@lru_cache(maxsize=8)
def get_database(url: str) -> Database:
    """One Database per URL per process."""
    return Database(url)
