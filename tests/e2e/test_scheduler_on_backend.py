"""Scheduler races on the session's database backend (SQLite, or PostgreSQL
in the suite's second pass), where SQLite's one writer at a time hides them.

A claim that commits while another decision of the same worker refreshes
the cache is counted once.  On PostgreSQL every statement of a READ
COMMITTED transaction sees its own snapshot, so a refresh could read the
change log without the claim and then the host's usage with it; the
claim's activity, blocked on the cache's lock meanwhile, then added it
again and the host looked fuller than it was until the next full reload
(a clean-clone run placed 32 of 40 servers that fit).

Two claims for one anti-affinity group on one host: the second waits for
the first and is refused.  Under READ COMMITTED it had checked the group
before the first committed, then waited on the host's generation and
claimed there too.
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from scheduler_workers import FLAVOR, cached_usage, claim, db_usage, seeded, select_, worker
from sqlmodel import select, text
from stack import wait_for
from temporalio.exceptions import ApplicationError

from activities.scheduler import placement
from activities.types.context import OpContext
from activities.types.scheduling import ClaimInput
from schema.models import Allocation, ServerGroup, ServerGroupMember


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


def test_two_claims_for_an_anti_affinity_group_on_one_host_one_is_refused(
        db, tmp_path, monkeypatch, app_database_url):
    with db.writer() as s:
        group = ServerGroup(name="g", project_id="p", user_id="u", policy="anti-affinity")
        s.add(group)
        s.add_all([ServerGroupMember(group_uuid=group.uuid, instance_uuid=m)
                   for m in ("m1", "m2")])
    a, b = worker(db, tmp_path), worker(db, tmp_path)

    def claim_in_group(acts, member: str) -> str:
        ctx = OpContext(server_id=member, project_id="p", user_id="u")
        return acts.claim_resources(ClaimInput(ctx=ctx, consumer_id=member, flavor=FLAVOR,
                                               candidates=["h1"], group_uuid=group.uuid)).host

    def waiting_on_a_lock() -> bool:
        with db.reader() as s:
            return s.exec(text("SELECT count(*) FROM pg_stat_activity "
                               "WHERE wait_event_type = 'Lock'")).one()[0] > 0

    real_claim_on_host = placement.claim_on_host
    pool = ThreadPoolExecutor(1)
    second = []

    def claim_then_let_the_other_in(session, host, consumer_id, *args):
        claimed = real_claim_on_host(session, host, consumer_id, *args)
        if consumer_id == "m1":  # m1 holds h1 uncommitted: m2's claim starts and waits
            second.append(pool.submit(claim_in_group, b, "m2"))
            if app_database_url is not None:  # SQLite: m2 waits for the writer's turn
                wait_for(waiting_on_a_lock, timeout=20, what="m2's claim to wait")
        return claimed

    monkeypatch.setattr(placement, "claim_on_host", claim_then_let_the_other_in)
    assert claim_in_group(a, "m1") == "h1"
    with pytest.raises(ApplicationError) as refused:
        second[0].result(timeout=20)
    pool.shutdown()
    assert refused.value.type == "ClaimConflict"
    assert "anti-affinity group" in str(refused.value)
    with db.reader() as s:
        assert [x.consumer_id for x in s.exec(select(Allocation))] == ["m1"]
