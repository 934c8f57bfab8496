"""The one settings object of novaflow.

Every tunable lives here, read from the environment with the ``NOVAFLOW_``
prefix (nested with ``__``, e.g. ``NOVAFLOW_SCHEDULER__MAX_ATTEMPTS=5``).
Defaults follow Nova's where Nova has the same knob.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, Field, SecretStr
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
    # The control worker's in-memory host states (activities/scheduler/host_cache.py):
    # off, every decision reads every host from the database.
    host_cache: bool = True
    # Re-read every host this often anyway (a safety net under the change log).
    host_cache_full_reload_s: float = 300.0
    # Re-read the services' heartbeats this often (they are not in the change log).
    host_cache_liveness_s: float = 5.0
    # The control plane's tick prunes the change log to its newest rows.
    host_changes_kept: int = 10000


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
    # A process serving more simulated hosts than this reports for all of them
    # in one batch (workflows/host_group_monitor.py) instead of a monitor
    # workflow per host, and shares one thread pool and one poller per host.
    host_group_above: int = 50
    # Destroy domains that no server record knows of (Nova's
    # running_deleted_instance_action=reap, for domains we never created).
    reap_unknown_domains: bool = False
    # A domain of a live server that rests on another host (a late spawn, a
    # build that gave the host up, an evacuated server's source) is destroyed
    # once the server has been settled elsewhere this long (Nova's
    # _destroy_evacuated_instances); moves in progress are never touched.
    stray_domain_grace: int = 60
    # Seconds between the control plane's periodic audits (0: never); the
    # audit logs its count of discrepancies (``novaflow audit`` to see them).
    audit_interval: int = 3600
    # How long a host worker may take to pick up work for its host before the
    # host counts as unavailable for that request.
    host_schedule_to_start_timeout: float = 30.0
    spawn_timeout: float = 300.0
    # A host step whose worker stops heartbeating for this long has died with
    # it (host workers heartbeat every running step each second).
    host_heartbeat_timeout: float = 10.0
    instance_build_timeout: int = 600
    # Run the control worker's workflows in Temporal's sandbox (workers/control.py
    # says why it is off by default; the tests run every workflow sandboxed).
    workflow_sandbox: bool = False
    # Nova's: how long a build waits for network-vif-plugged of each port
    # (0: do not wait), and whether the wait running out fails the host.
    vif_plugging_timeout: int = 300
    vif_plugging_is_fatal: bool = True
    # The Neutron stand-in's (Neutron's option of the same name): tell Nova
    # through os-server-external-events when a port is bound.
    notify_nova_on_port_status_changes: bool = True
    # Seconds a resize or cold migration waits in VERIFY_RESIZE before it is
    # confirmed automatically (0: wait for the user, as Nova's default).
    resize_confirm_window: int = 0
    # Let a resize land on the host the server is on (Nova's default: no).
    allow_resize_to_same_host: bool = False
    # Seconds a deleted server waits in SOFT_DELETED (restorable) before it is
    # reclaimed, by a durable timer (Nova's reclaim_instance_interval; 0: delete
    # at once).
    reclaim_instance_interval: int = 0
    # Seconds a shelved server keeps its host before it is offloaded by a
    # durable timer (Nova's shelved_offload_time; 0: offload at once, -1: never).
    shelved_offload_time: int = 0

    # Real guests (``novaflow up --virt qemu``, ``novaflow worker host`` on
    # qemu:///system): where a host keeps instance files and how it reaches
    # the image, network and compute APIs (see novaflow/cloud.py).
    instances_path: Path | None = None  # default: <state_dir>/instances
    host_api_url: str | None = None  # default: http://<api_host>:<api_port>
    # Nova's force_config_drive: every real guest gets one (our test image
    # reads its identity from it).
    force_config_drive: bool = True
    # Unused base images older than this are removed (Nova's
    # remove_unused_original_minimum_age_seconds).
    remove_unused_original_minimum_age_seconds: int = 86400
    # Identity (Keystone).  The embedded stack runs its own on keystone_port and
    # generates the service user's password into the state dir; against a
    # cloud, set keystone_url and service_password.
    keystone_url: str | None = None  # default: http://127.0.0.1:<keystone_port>
    keystone_port: int = 5000
    # The region of this control plane's endpoints in Keystone's catalog
    # (a second stack sharing one Keystone registers its own).
    region_name: str = "RegionOne"
    keystone_timeout: float = 5.0
    service_user: str = "novaflow"
    service_password: SecretStr | None = None
    service_project: str = "service"
    # keystonemiddleware's token_cache_time: how long a valid token is trusted
    # without asking Keystone again (never past its expiry).
    token_cache_time: float = 300.0
    # The embedded Keystone's token lifetime and password hashing cost.
    keystone_token_expiration: int = 3600
    keystone_password_hash_rounds: int | None = None
    # Nova-style policy overrides (YAML), as Nova's policy.yaml.
    policy_file: Path | None = None
    # Payload codec keys {key_id: base64 32-byte key} and the one that
    # encrypts; default: generated into <state_dir>/payload-keys.json.
    codec_keys: dict[str, SecretStr] | None = None
    codec_active_key: str | None = None
    # Where the Temporal UI asks for decoded payloads (the codec server).
    codec_port: int = 8235

    # Remote consoles (Nova's [consoleauth] and [vnc]/[serial_console]): the
    # console proxy (``novaflow console-proxy``) listens on console_proxy_port;
    # the URLs handed to clients start with console_proxy_url (default
    # http://<api_host>:<console_proxy_port>); a token lives console_token_ttl
    # seconds and serves one connection.
    console_proxy_host: str = "127.0.0.1"
    console_proxy_port: int = 6080
    console_proxy_url: str | None = None
    console_token_ttl: int = 600

    scheduler: SchedulerSettings = Field(default_factory=SchedulerSettings)
    quota: QuotaSettings = Field(default_factory=QuotaSettings)
    # Nova's [api] max_limit: the most items one page of a list returns.
    api_max_limit: int = 1000
    # The metadata service (``novaflow metadata``, Nova's nova-api-metadata):
    # where it listens, the secret Neutron's metadata proxy signs instance ids
    # with (default: generated into <state_dir>/metadata-secret.json), and how
    # long what an instance may read is cached.
    metadata_host: str = "127.0.0.1"
    metadata_port: int | None = 8775
    metadata_proxy_shared_secret: SecretStr | None = None
    metadata_cache_expiration: float = 15.0

    def keystone_auth_url(self) -> str:
        """Keystone's v3 URL: the configured one, or the embedded Keystone's."""
        base = self.keystone_url or f"http://127.0.0.1:{self.keystone_port}"
        base = base.rstrip("/")
        return base if base.endswith("/v3") else f"{base}/v3"

    def effective_metadata_secret(self) -> str:
        """The metadata proxy's shared secret: set, or the state dir's generated one."""
        if self.metadata_proxy_shared_secret is not None:
            return self.metadata_proxy_shared_secret.get_secret_value()
        from novaflow.credentials import metadata_secret

        return metadata_secret(self.state_dir)

    def effective_service_password(self) -> str:
        """The service user's password: set, or the embedded stack's generated one."""
        if self.service_password is not None:
            return self.service_password.get_secret_value()
        from novaflow.credentials import PASSWORDS_FILE, passwords

        if not (self.state_dir / PASSWORDS_FILE).exists():
            raise RuntimeError("no service password: set NOVAFLOW_SERVICE_PASSWORD, or "
                               f"use the state dir of `novaflow up` ({PASSWORDS_FILE})")
        return passwords(self.state_dir)[self.service_user]

    def console_proxy_base(self) -> str:
        """Where clients reach the console proxy (no trailing slash)."""
        return (self.console_proxy_url
                or f"http://{self.console_proxy_host}:{self.console_proxy_port}").rstrip("/")

    def effective_database_url(self) -> str:
        """The configured URL, or the SQLite file in the state dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.state_dir / 'novaflow.db').resolve()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once."""
    return Settings()
