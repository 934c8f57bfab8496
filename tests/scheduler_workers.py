"""Two control workers' scheduler activities on one real database, for the host cache tests.

`seeded` makes a database of three hosts; `worker` is one control worker's
SchedulerActivities; `cached_usage` and `db_usage` are what its cache holds
and what a full read of the database says.
"""

from __future__ import annotations

from pathlib import Path

from activities.scheduler import placement
from activities.scheduler.activities import SchedulerActivities
from activities.types.catalog import FlavorInfo, ImageInfo
from activities.types.context import OpContext
from activities.types.scheduling import ClaimInput, SelectDestinationsInput
from novaflow.settings import Settings
from schema.db import Database
from schema.migrate import upgrade
from schema.models import ComputeNode, Service, utcnow

HOSTS = ["h1", "h2", "h3"]
FLAVOR = FlavorInfo(flavorid="f", name="f", vcpus=2, memory_mb=2048, root_gb=10)
IMAGE = ImageInfo(id="i", name="i")


def seeded(url: str) -> Database:
    """The database at `url`, migrated, with HOSTS (4 VCPU, 8 GiB, 100 GB each)."""
    upgrade(url)
    db = Database(url)
    with db.writer() as s:
        for h in HOSTS:
            s.add(ComputeNode(host=h, hypervisor_hostname=h, vcpus=4, memory_mb=8192,
                              local_gb=100))
            s.add(Service(host=h, last_seen_up=utcnow()))
    return db


def worker(db: Database, tmp_path: Path) -> SchedulerActivities:
    return SchedulerActivities(db, Settings(state_dir=tmp_path))


def select_(acts: SchedulerActivities, server: str, **kw) -> list[str]:
    ctx = OpContext(server_id=server, project_id="p", user_id="u")
    return acts.select_destinations(SelectDestinationsInput(
        ctx=ctx, flavor=FLAVOR, image=IMAGE, num_alternates=2, **kw)).hosts


def claim(acts: SchedulerActivities, server: str, hosts: list[str]) -> str:
    ctx = OpContext(server_id=server, project_id="p", user_id="u")
    return acts.claim_resources(ClaimInput(ctx=ctx, consumer_id=server, flavor=FLAVOR,
                                           candidates=hosts)).host


def cached_usage(acts: SchedulerActivities) -> dict[str, tuple[int, int, int, bool, bool]]:
    with acts.db.snapshot() as s:
        table = acts.host_cache.table(s)
    return {h.host: (h.vcpus_used, h.memory_mb_used, h.local_gb_used, h.service_disabled,
                     h.service_up) for h in table.hosts}


def db_usage(db: Database, tmp_path: Path) -> dict[str, tuple[int, int, int, bool, bool]]:
    with db.reader() as s:
        states = placement.load_host_states(s, Settings(state_dir=tmp_path))
    return {h.host: (h.vcpus_used, h.memory_mb_used, h.local_gb_used, h.service_disabled,
                     h.service_up) for h in states}
