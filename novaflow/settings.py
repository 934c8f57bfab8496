"""The one settings object of novaflow.

Every tunable lives here, read from the environment with the ``NOVAFLOW_``
prefix (nested with ``__``, e.g. ``NOVAFLOW_SCHEDULER__MAX_ATTEMPTS=5``).
Defaults follow Nova's where Nova has the same knob.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_FILTERS = [
    "RetryFilter",
    "ComputeFilter",
    "AvailabilityZoneFilter",
    "RamFilter",
    "CoreFilter",
    "DiskFilter",
    "ComputeCapabilitiesFilter",
    "ImagePropertiesFilter",
    "ServerGroupAntiAffinityFilter",
    "ServerGroupAffinityFilter",
    "SameHostFilter",
    "DifferentHostFilter",
]


class SchedulerSettings(BaseModel):
    """Nova's [filter_scheduler] and [scheduler] options, with Nova's defaults."""

    driver: str = "filter_scheduler"  # or "chance_scheduler"
    enabled_filters: list[str] = Field(default_factory=lambda: list(DEFAULT_FILTERS))
    weight_classes: list[str] = Field(
        default_factory=lambda: [
            "RAMWeigher",
            "CPUWeigher",
            "DiskWeigher",
            "NumInstancesWeigher",
            "IoOpsWeigher",
            "ServerGroupSoftAffinityWeigher",
            "ServerGroupSoftAntiAffinityWeigher",
            "BuildFailureWeigher",
        ]
    )
    ram_weight_multiplier: float = 1.0
    cpu_weight_multiplier: float = 1.0
    disk_weight_multiplier: float = 1.0
    io_ops_weight_multiplier: float = -1.0
    num_instances_weight_multiplier: float = 0.0
    soft_affinity_weight_multiplier: float = 1.0
    soft_anti_affinity_weight_multiplier: float = 1.0
    build_failure_weight_multiplier: float = 1000000.0
    host_subset_size: int = 1
    shuffle_best_same_weighed_hosts: bool = False
    max_attempts: int = 3
    max_io_ops_per_host: int = 8
    max_instances_per_host: int = 50
    # ComputeFilter: a service silent for longer than this is down.
    service_down_time: int = 60


class QuotaSettings(BaseModel):
    """Nova's [quota] defaults: per-project hard limits (-1 is unlimited).

    A project's own limits (``PUT /os-quota-sets/{project}``) override these.
    """

    instances: int = 10
    cores: int = 20
    ram: int = 51200
    key_pairs: int = 100  # per user
    metadata_items: int = 128
    server_groups: int = 10
    server_group_members: int = 10


class Settings(BaseSettings):
    """Process-wide settings; see the module docstring for how to set them."""

    model_config = SettingsConfigDict(env_prefix="NOVAFLOW_", env_nested_delimiter="__")

    state_dir: Path = Path(".novaflow")
    database_url: str | None = None  # default: SQLite file in state_dir
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    temporal_ui_url: str = "http://127.0.0.1:8233"
    api_host: str = "127.0.0.1"
    api_port: int = 8774

    # Initial allocation ratios of a newly registered compute node (Nova's).
    initial_cpu_allocation_ratio: float = 16.0
    initial_ram_allocation_ratio: float = 1.5
    initial_disk_allocation_ratio: float = 1.0
    reserved_host_memory_mb: int = 512
    reserved_host_cpus: int = 0
    reserved_host_disk_mb: int = 0

    # Host liveness (see workflows/host_monitor.py): each host reports every
    # report_interval seconds (Nova's default); a host silent for longer than
    # scheduler.service_down_time (60 s, six missed reports) counts as down.
    report_interval: int = 10
    # Destroy domains that no server record knows of (Nova's
    # running_deleted_instance_action=reap, for domains we never created).
    reap_unknown_domains: bool = False
    # How long a host worker may take to pick up work for its host before the
    # host counts as unavailable for that request.
    host_schedule_to_start_timeout: float = 30.0
    spawn_timeout: float = 300.0
    instance_build_timeout: int = 600
    # Seconds a resize or cold migration waits in VERIFY_RESIZE before it is
    # confirmed automatically (0: wait for the user, as Nova's default).
    resize_confirm_window: int = 0
    # Let a resize land on the host the server is on (Nova's default: no).
    allow_resize_to_same_host: bool = False
    # Seconds a deleted server waits in SOFT_DELETED (restorable) before it is
    # reclaimed, by a durable timer (Nova's reclaim_instance_interval; 0: delete
    # at once).
    reclaim_instance_interval: int = 0

    scheduler: SchedulerSettings = Field(default_factory=SchedulerSettings)
    quota: QuotaSettings = Field(default_factory=QuotaSettings)
    # Nova's [api] max_limit: the most items one page of a list returns.
    api_max_limit: int = 1000

    def effective_database_url(self) -> str:
        """The configured URL, or the SQLite file in the state dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.state_dir / 'novaflow.db').resolve()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once."""
    return Settings()
