"""Host filters, by the names Nova's `enabled_filters` uses.

`build_filters(settings)` turns the configured names into filter objects in
order; an unknown name is a configuration error and raises at once rather
than silently letting every host through.
"""

from __future__ import annotations

from activities.scheduler.filters.affinity import (
    DifferentHostFilter,
    SameHostFilter,
    ServerGroupAffinityFilter,
    ServerGroupAntiAffinityFilter,
)
from activities.scheduler.filters.base import BaseFilter
from activities.scheduler.filters.capabilities import (
    AggregateInstanceExtraSpecsFilter,
    AggregateTypeAffinityFilter,
    ComputeCapabilitiesFilter,
    ImagePropertiesFilter,
)
from activities.scheduler.filters.host_service import (
    AvailabilityZoneFilter,
    ComputeFilter,
    RetryFilter,
)
from activities.scheduler.filters.json_filter import JsonFilter
from activities.scheduler.filters.resources import (
    CoreFilter,
    DiskFilter,
    IoOpsFilter,
    NumInstancesFilter,
    RamFilter,
)
from novaflow.settings import SchedulerSettings

ALL_FILTERS: dict[str, type[BaseFilter]] = {
    cls.name: cls
    for cls in (
        RetryFilter, ComputeFilter, AvailabilityZoneFilter, RamFilter, CoreFilter, DiskFilter,
        ComputeCapabilitiesFilter, ImagePropertiesFilter, ServerGroupAntiAffinityFilter,
        ServerGroupAffinityFilter, SameHostFilter, DifferentHostFilter,
        AggregateInstanceExtraSpecsFilter, AggregateTypeAffinityFilter, NumInstancesFilter,
        IoOpsFilter, JsonFilter,
    )
}


def build_filters(settings: SchedulerSettings) -> list[BaseFilter]:
    """The enabled filters, in the configured order."""
    unknown = [n for n in settings.enabled_filters if n not in ALL_FILTERS]
    if unknown:
        raise ValueError(f"unknown scheduler filters: {', '.join(unknown)}")
    return [ALL_FILTERS[name](settings) for name in settings.enabled_filters]


__all__ = [
    "ALL_FILTERS", "AggregateInstanceExtraSpecsFilter", "AggregateTypeAffinityFilter",
    "AvailabilityZoneFilter", "BaseFilter", "ComputeCapabilitiesFilter", "ComputeFilter",
    "CoreFilter", "DifferentHostFilter", "DiskFilter", "ImagePropertiesFilter", "IoOpsFilter",
    "JsonFilter", "NumInstancesFilter", "RamFilter", "RetryFilter", "SameHostFilter",
    "ServerGroupAffinityFilter", "ServerGroupAntiAffinityFilter", "build_filters",
]
