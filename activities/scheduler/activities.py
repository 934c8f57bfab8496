"""The scheduling activities: select_destinations, claim_resources, release_claim.

``select_destinations`` runs the pure filter scheduler over the worker's
in-memory host states (host_cache.py: only what changed since the last
decision is read); ``claim_resources`` claims on the first candidate whose
compare-and-swap succeeds, and on a conflict tells the cache to re-read the
candidates before the workflow selects again.  A NoValidHost carries the filter
verdicts as the ApplicationError's details, so the workflow history shows why.
"""

from __future__ import annotations

from sqlmodel import select
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.base import ControlActivities
from activities.scheduler import placement
from activities.scheduler.host_cache import HostCache
from activities.scheduler.select import select_hosts
from activities.scheduler.types import FlavorSpec, RequestSpec
from activities.types.catalog import FlavorInfo
from activities.types.scheduling import (
    ClaimInput,
    ClaimResult,
    ReleaseClaimInput,
    SelectDestinationsInput,
    SelectDestinationsResult,
)
from novaflow import errors
from schema.models import ComputeNode

# Per-host rejection reasons go into the NoValidHost details (admins see
# them); past this many hosts only the per-filter counts do, to keep the
# failure well inside Temporal's payload limit.
MAX_EXPLAINED_HOSTS = 500


def flavor_spec(f: FlavorInfo) -> FlavorSpec:
    return FlavorSpec(name=f.name, vcpus=f.vcpus, memory_mb=f.memory_mb, root_gb=f.root_gb,
                      ephemeral_gb=f.ephemeral_gb, swap_mb=f.swap, flavorid=f.flavorid,
                      extra_specs=dict(f.extra_specs))


class SchedulerActivities(ControlActivities):
    """Host selection and placement-style claims."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.host_cache = HostCache(self.settings) if self.settings.scheduler.host_cache else None

    def request_spec(self, inp: SelectDestinationsInput) -> RequestSpec:
        group = None
        group_uuid = inp.scheduler_hints.get("group")
        if group_uuid:
            with self.db.reader() as s:
                group = placement.group_spec(s, str(group_uuid), inp.ctx.server_id)
        return RequestSpec(
            instance_uuid=inp.ctx.server_id,
            flavor=flavor_spec(inp.flavor),
            project_id=inp.ctx.project_id,
            user_id=inp.ctx.user_id,
            image_properties=dict(inp.image.properties) if inp.image else {},
            availability_zone=inp.availability_zone,
            force_host=inp.force_host,
            requested_host=inp.requested_host,
            scheduler_hints=dict(inp.scheduler_hints),
            ignore_hosts=list(inp.ignore_hosts),
            instance_group=group,
            is_admin=inp.ctx.is_admin,
        )

    @activity.defn(name="select_destinations")
    def select_destinations(self, inp: SelectDestinationsInput) -> SelectDestinationsResult:
        spec = self.request_spec(inp)
        if self.host_cache is None:
            with self.db.snapshot() as s:
                hosts = placement.load_host_states(s, self.settings)
            selection = self._select(hosts, spec, inp)
        else:
            with self.host_cache.lock:
                with self.db.snapshot() as s:  # a claim landing mid-read counts once
                    table = self.host_cache.table(s)
                selection = self._select(table, spec, inp)
        if not selection.hosts:
            expl = selection.explanation
            raise ApplicationError(expl.fault_message(), expl.to_dict(),
                                   type=errors.NO_VALID_HOST, non_retryable=True)
        return SelectDestinationsResult(hosts=selection.hosts)

    def _select(self, hosts, spec: RequestSpec, inp: SelectDestinationsInput):
        return select_hosts(hosts, spec, self.settings.scheduler,
                            num_alternates=inp.num_alternates,
                            explain_hosts=len(hosts) <= MAX_EXPLAINED_HOSTS)

    @activity.defn(name="claim_resources")
    def claim_resources(self, inp: ClaimInput) -> ClaimResult:
        f = inp.flavor
        disk = f.root_gb + f.ephemeral_gb + (f.swap + 1023) // 1024
        reasons = []
        claimed = None
        with self.db.writer() as s:
            for host in inp.candidates:
                why = None
                if inp.group_uuid:
                    why = placement.group_allows(s, inp.group_uuid, inp.consumer_id, host)
                node = None
                if why is None:
                    node, why = placement.claim_on_host(s, host, inp.consumer_id, f.vcpus,
                                                        f.memory_mb, disk, inp.ctx.project_id,
                                                        inp.ctx.user_id)
                if why is None:
                    claimed = ClaimResult(host=host, node_uuid=node.uuid,
                                          libvirt_uri=node.libvirt_uri)
                    break
                reasons.append(f"{host}: {why}")
        if claimed is not None:
            if self.host_cache is not None:
                self.host_cache.claimed(claimed.host, s.info.get("host_change_seqs", []),
                                        f.vcpus, f.memory_mb, disk)
            return claimed
        # The hosts filled up (or a group member landed) since selection: the
        # workflow selects again with fresh usage.
        if self.host_cache is not None:
            self.host_cache.forget(list(inp.candidates))
        raise ApplicationError(
            "Claims failed on every candidate: " + "; ".join(reasons),
            {"claims": reasons}, type=errors.CLAIM_CONFLICT, non_retryable=True)

    @activity.defn(name="release_claim")
    def release_claim(self, inp: ReleaseClaimInput) -> int:
        with self.db.writer() as s:
            node_uuid = None
            if inp.host:
                node = s.exec(select(ComputeNode).where(ComputeNode.host == inp.host)).first()
                if node is None:
                    return 0
                node_uuid = node.uuid
                if inp.build_failed:
                    placement.record_build_result(s, inp.host, failed=True)
            return placement.release(s, inp.consumer_id, node_uuid)
