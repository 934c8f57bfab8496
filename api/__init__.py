"""The REST facade: a subset of the OpenStack Compute API v2.1 (plus the
Glance and Neutron read endpoints clients need in the embedded stack)."""
