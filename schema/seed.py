"""First-start content of the embedded stack: Nova's classic flavors and a
``private`` network with a subnet.  Only what is missing is added.  (The
``cirros`` image is Glance's: ``workers/glance_setup.py``.)"""

from __future__ import annotations

from sqlmodel import select

from schema.db import Database
from schema.models import Flavor, Network, Subnet

CLASSIC_FLAVORS = [
    # flavorid, name, vcpus, memory_mb, root_gb
    ("1", "m1.tiny", 1, 512, 1),
    ("2", "m1.small", 1, 2048, 20),
    ("3", "m1.medium", 2, 4096, 40),
    ("4", "m1.large", 4, 8192, 80),
    ("5", "m1.xlarge", 8, 16384, 160),
]


def seed(db: Database) -> None:
    """Add the classic flavors and the private network if absent."""
    with db.writer() as s:
        have = set(s.exec(select(Flavor.flavorid)))
        for flavorid, name, vcpus, ram, disk in CLASSIC_FLAVORS:
            if flavorid not in have:
                s.add(Flavor(flavorid=flavorid, name=name, vcpus=vcpus, memory_mb=ram,
                             root_gb=disk))
        if s.exec(select(Network).where(Network.name == "private")).first() is None:
            net = Network(name="private", shared=True)
            s.add(net)
            s.flush()
            s.add(Subnet(network_id=net.id, name="private-subnet", cidr="10.0.0.0/22",
                         gateway_ip="10.0.0.1"))
