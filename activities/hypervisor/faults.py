"""Fault injection for the embedded stack: a LibvirtDriver whose named steps
fail or stall, for rehearsing failures a healthy test hypervisor never shows.

Same interface and same libvirt state as the real driver; the methods named
in ``faults`` raise DriverError (the way a hypervisor refusal surfaces), and
those in ``delays`` take that many seconds longer (a slow hypervisor).  Used
by the tests and scripts/capture_histories.py; never by a production host.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from activities.hypervisor.driver import DriverError
from activities.hypervisor.libvirt_driver import LibvirtDriver


class FaultInjectingDriver(LibvirtDriver):
    """A LibvirtDriver with injected refusals (``faults``) and stalls (``delays``)."""

    def __init__(self, *args: Any, faults: frozenset[str] | set[str] = frozenset(),
                 delays: Mapping[str, float] | None = None, **kwargs: Any):
        self._faults = set(faults)
        self._delays = dict(delays or {})
        super().__init__(*args, **kwargs)

    def __getattribute__(self, name: str) -> Any:
        attr = object.__getattribute__(self, name)
        if name.startswith("_") or not callable(attr):
            return attr
        faults = object.__getattribute__(self, "_faults")
        delay = object.__getattribute__(self, "_delays").get(name, 0.0)
        if name not in faults and not delay:
            return attr

        def injected(*args: Any, **kwargs: Any) -> Any:
            if delay:
                time.sleep(delay)  # the simulated hypervisor is slow at this step
            if name in faults:
                raise DriverError(f"injected fault: {name} refused on {self.hostname}")
            return attr(*args, **kwargs)
        return injected
