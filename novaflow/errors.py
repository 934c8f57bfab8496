"""Failure types shared by workflows, activities and the API.

Activities raise ``temporalio.exceptions.ApplicationError`` with one of these
as ``type``; workflows end failed with the same types, so a failure's type in
the Temporal UI names what went wrong.  Pure constants: workflows import this.

    ApplicationError(type=...)
    ├── InvalidToken          token missing, malformed or expired (permanent)
    ├── NotFound              a flavor/image/network/server does not exist (permanent)
    ├── InvalidRequest        a request the catalog or policy refuses (permanent)
    ├── NoValidHost           no host passes the filters; details: filter verdicts
    ├── ClaimConflict         every candidate's claim lost its compare-and-swap race
    ├── MaxRetriesExceeded    every attempt's host failed its spawn
    ├── SpawnFailed           the hypervisor refused to create the domain
    ├── HostUnavailable       a host worker did not pick the work up in time
    ├── BuildTimeout          the build ran past instance_build_timeout
    ├── NetworkAllocationFailed  no free address on a requested network
    └── ConsoleUnavailable    the guest has no console of the asked kind (permanent)
"""

INVALID_TOKEN = "InvalidToken"
NOT_FOUND = "NotFound"
INVALID_REQUEST = "InvalidRequest"
NO_VALID_HOST = "NoValidHost"
CLAIM_CONFLICT = "ClaimConflict"
MAX_RETRIES_EXCEEDED = "MaxRetriesExceeded"
SPAWN_FAILED = "SpawnFailed"
SPAWN_SUPERSEDED = "SpawnSuperseded"  # a late spawn whose build attempt moved on
HOST_UNAVAILABLE = "HostUnavailable"
BUILD_TIMEOUT = "BuildTimeout"
NETWORK_ALLOCATION_FAILED = "NetworkAllocationFailed"
CONSOLE_UNAVAILABLE = "ConsoleUnavailable"

PERMANENT = [INVALID_TOKEN, NOT_FOUND, INVALID_REQUEST, NO_VALID_HOST, CLAIM_CONFLICT,
             SPAWN_FAILED, NETWORK_ALLOCATION_FAILED]
