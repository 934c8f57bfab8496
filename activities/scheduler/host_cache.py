"""The control worker's host states in memory, kept current from the change log.

Loading every host's state from the database cost 30 ms per decision at
1,000 nodes and 700 ms at 10,000.  `HostCache` loads them once into a
`HostTable` and afterwards, per decision, reads only:

- the `host_changes` rows after the last sequence number it saw (one indexed
  query; schema/host_changes.py writes them with every change), and the
  states of the hosts they name, patched into the table's rows;
- every `liveness_s` seconds, the services' heartbeats (not in the change
  log: 100 reports/s at 1,000 hosts would invalidate it continuously);
  whether a service is up is recomputed from them at each decision.

The database stays the source of truth: claims still compare-and-swap, so a
stale row can only cost a claim conflict, after which the claim names the
hosts to `forget` and the workflow selects again.  A full reload also
happens every `full_reload_s` seconds, when a change names no host (an
aggregate), or when a host appears, disappears or changes what the table
derives from it (inventory, aggregates, traits).

On SQLite writers are serialised, so change rows commit in sequence order.
On PostgreSQL two transactions can commit their sequence numbers out of
order and a refresh may step past one still in flight; the full reload
bounds how long that host can look stale (a host looking fuller than it is;
one looking emptier only costs a claim conflict).  The control plane's tick
prunes the log to its newest ``host_changes_kept`` rows; a cache that finds
rows after its sequence number pruned reloads everything.

Not thread-safe by itself: callers hold `lock` around `table()` and the
decision that reads it (activities run in a thread pool).
"""

from __future__ import annotations

import threading
import time

import numpy as np
from sqlmodel import Session

from activities.scheduler import placement
from activities.scheduler.host_table import HostTable
from novaflow.settings import Settings


class HostCache:
    """One control worker's HostTable, refreshed incrementally."""

    def __init__(self, settings: Settings, clock=time.monotonic, wall=time.time):
        self.settings = settings
        self.lock = threading.Lock()
        self._clock, self._wall = clock, wall
        self._table: HostTable | None = None
        self._seq = 0
        self._loaded_at = self._polled_at = 0.0
        self._forgotten: set[str] = set()
        self._own: set[int] = set()  # change rows of this worker's claims, applied already
        self._node_host: dict[str, str] = {}
        self._forced = np.zeros(0, dtype=bool)
        self._seen = np.zeros(0)  # epoch seconds of the last heartbeat, nan if never
        # The control plane's clock (up_since, last_tick), epoch seconds, or
        # None; and when it was read (its last_tick is that old, not older).
        self._clock_epochs: tuple[float, float] | None = None
        self._clock_read_at = 0.0
        self.stats = {"full": 0, "partial": 0, "hosts_reread": 0, "own_claims": 0,
                      "decisions": 0}

    def claimed(self, host: str, seqs: list[int], vcpus: int, memory_mb: int,
                disk_gb: int) -> None:
        """This worker's own committed claim: apply it here instead of re-reading the host.

        `seqs` are the change rows the claim's transaction wrote.  If a refresh
        already read past them, the row holds the claim already; otherwise
        the claim is added to the row and those changes are skipped when read.
        """
        with self.lock:
            table = self._table
            if table is None or not seqs or min(seqs) <= self._seq:
                return
            try:
                row = table.row(host)
            except KeyError:
                return
            h = table.hosts[row]
            h.vcpus_used += vcpus
            h.memory_mb_used += memory_mb
            h.local_gb_used += disk_gb
            h.generation += 1
            table.vcpus_used[row] = h.vcpus_used
            table.memory_mb_used[row] = h.memory_mb_used
            table.local_gb_used[row] = h.local_gb_used
            self._own.update(seqs)
            self.stats["own_claims"] += 1

    def forget(self, hosts: list[str]) -> None:
        """Re-read these hosts before the next decision (a claim on them conflicted)."""
        with self.lock:
            self._forgotten.update(hosts)

    def table(self, session: Session) -> HostTable:
        """The current table; `session` must be a fresh Database.snapshot().

        One snapshot, or on PostgreSQL a claim of this worker committing
        between the change log read and its host's re-read would be in the
        row and then added again by `claimed`: the host would look fuller
        than it is until the next full reload.
        """
        s = self.settings.scheduler
        now = self._clock()
        self.stats["decisions"] += 1
        if self._table is None or now - self._loaded_at > s.host_cache_full_reload_s:
            return self._load_all(session, now)
        changes = placement.changes_since(session, self._seq)
        if changes and changes[0][0] > self._seq + 1 \
                and placement.first_change(session) > self._seq + 1:
            return self._load_all(session, now)  # rows it never read were pruned
        hosts = set(self._forgotten)
        for seq, host, node_uuid in changes:
            self._seq = max(self._seq, seq)
            if seq in self._own:
                self._own.discard(seq)
                continue
            if host is None and node_uuid is None:
                return self._load_all(session, now)
            if host is None:
                host = self._node_host.get(node_uuid)
                if host is None:
                    continue  # a node this worker never saw: its registration reloads all
            hosts.add(host)
        if hosts and not self._reread(session, hosts):
            return self._load_all(session, now)
        self._forgotten.clear()
        if now - self._polled_at > s.host_cache_liveness_s:
            self._set_heartbeats(placement.service_heartbeats(session))
            self._clock_epochs = placement.control_clock_epochs(session)
            self._clock_read_at = self._wall()
            self._polled_at = now
        self._update_liveness()
        return self._table

    def _load_all(self, session: Session, now: float) -> HostTable:
        self._seq = placement.last_change(session)  # first: the data is at least this new
        states = placement.load_host_states(session, self.settings)
        self._table = HostTable(states)
        self._node_host = {h.node_uuid: h.host for h in states}
        self._forced = np.zeros(len(states), dtype=bool)
        self._seen = np.full(len(states), np.nan)
        self._set_heartbeats(placement.service_heartbeats(session))
        self._clock_epochs = placement.control_clock_epochs(session)
        self._clock_read_at = self._wall()
        self._loaded_at = self._polled_at = now
        self._forgotten.clear()
        self._own.clear()
        self.stats["full"] += 1
        self._update_liveness()
        return self._table

    def _reread(self, session: Session, hosts: set[str]) -> bool:
        """Patch re-read hosts into their rows; False if the table must be rebuilt."""
        table = self._table
        states = placement.load_host_states(session, self.settings, hosts)
        found = {h.host for h in states}
        if any(table.names[r] == h for h in hosts - found for r in table.rows_named([h])):
            return False  # a host went away (names nothing known: an instance's stale host)
        for state in states:
            try:
                row = table.row(state.host, state.nodename)
            except KeyError:
                return False  # a new host
            if not table.replace_row(row, state):
                return False
        self._set_heartbeats(placement.service_heartbeats(session, hosts))
        self.stats["partial"] += 1
        self.stats["hosts_reread"] += len(hosts)
        return True

    def _set_heartbeats(self, beats: dict[str, tuple[bool, float | None]]) -> None:
        table = self._table
        for host, (forced, seen) in beats.items():
            for row in table.rows_named([host]):
                if table.names[row] == host:
                    self._forced[row] = forced
                    self._seen[row] = np.nan if seen is None else seen

    def _update_liveness(self) -> None:
        """service_up from the heartbeats and the control plane's clock, as
        novaflow.rules.service_is_up: silence counts only while the control
        plane could hear."""
        table = self._table
        window = self.settings.scheduler.service_down_time
        ref, seen = self._wall(), self._seen
        clock = self._clock_epochs
        if clock is not None:
            up_since, last_tick = clock
            seen = np.where(np.isnan(seen), np.nan, np.maximum(seen, up_since))
            if self._clock_read_at - last_tick > window:  # the control plane was deaf
                ref = last_tick
        with np.errstate(invalid="ignore"):
            up = ~self._forced & (ref - seen <= window)
        for row in np.flatnonzero(up != table.service_up).tolist():
            table.hosts[row].service_up = bool(up[row])
        table.service_up[:] = up
