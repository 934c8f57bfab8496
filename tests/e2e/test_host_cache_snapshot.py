"""The scheduler's host cache on the session's database backend (SQLite, or
PostgreSQL in the suite's second pass): a claim that commits while another
decision of the same worker refreshes the cache is counted once.

On PostgreSQL every statement of a READ COMMITTED transaction sees its own
snapshot, so a refresh could read the change log without the claim and then
the host's usage with it; the claim's activity, blocked on the cache's lock
meanwhile, then added it again and the host looked fuller than it was until
the next full reload (a clean-clone run placed 32 of 40 servers that fit).
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from scheduler_workers import cached_usage, claim, db_usage, seeded, select_, worker
from sqlmodel import select
from stack import wait_for

from activities.scheduler import placement
from schema.models import Allocation


@pytest.fixture
def db(tmp_path, request, app_database_url):
    if app_database_url is None:
        url = f"sqlite:///{tmp_path / 'hc.db'}"
    else:  # a database of its own on the session's server
        url = request.getfixturevalue("postgres").create_database(f"hc_{uuid.uuid4().hex}")
    db = seeded(url)
    yield db
    db.dispose()


def test_a_claim_landing_while_the_cache_refreshes_counts_once(db, tmp_path, monkeypatch):
    a, b = worker(db, tmp_path), worker(db, tmp_path)
    select_(a, "warm")  # a's cache holds every host
    claim(b, "theirs", ["h1"])  # a's next refresh re-reads h1
    real_changes_since = placement.changes_since
    pool = ThreadPoolExecutor(1)
    mine = []

    def allocated(consumer: str) -> bool:
        with db.reader() as s:
            return s.exec(select(Allocation).where(Allocation.consumer_id == consumer)
                          ).first() is not None

    def changes_then_my_claim_commits(session, seq):
        changes = real_changes_since(session, seq)
        if not mine:  # a's own claim on h1 commits between the log and h1's re-read
            mine.append(pool.submit(claim, a, "mine", ["h1"]))
            wait_for(lambda: allocated("mine"), timeout=20, what="the claim to commit")
        return changes

    monkeypatch.setattr(placement, "changes_since", changes_then_my_claim_commits)
    select_(a, "next")
    assert mine[0].result(timeout=20) == "h1"  # its cache update waited for the decision
    monkeypatch.undo()
    pool.shutdown()
    assert cached_usage(a)["h1"][:3] == (4, 4096, 20)
    assert cached_usage(a) == db_usage(db, tmp_path)
