"""One activity for a process serving many (simulated) hosts: all their reports at once.

A monitor workflow per host reporting every 10 s is 100 reports/s into
Temporal at 1,000 hosts, more than a dev server on two cores sustains (see
workflows/host_group_monitor.py).  A process that serves many hosts answers
for all of them in one `report_hosts` call on its own group queue; each host
keeps its own queue for everything else (spawn, power, moves).
"""

from __future__ import annotations

from temporalio import activity

from activities.hypervisor.driver import ComputeDriver
from activities.hypervisor.power import HostPowerActivities
from activities.types.hosts import HostGroupReport, HostGroupReportInput, HostReportInput


class HostGroupActivities:
    """The batched report of every host one process serves."""

    def __init__(self, drivers: dict[str, ComputeDriver]):
        self.drivers = drivers  # hostname -> driver; the caller adds and removes hosts

    @activity.defn(name="report_hosts")
    def report_hosts(self, inp: HostGroupReportInput) -> HostGroupReport:
        """report_host for each named host this process serves; the others are `missing`."""
        out = HostGroupReport()
        for name in inp.hostnames:
            driver = self.drivers.get(name)
            if driver is None:
                out.missing.append(name)
                continue
            out.reports.append(HostPowerActivities(driver, name).report_host(
                HostReportInput(hostname=name)))
        return out

    def all(self) -> list:
        return [self.report_hosts]
