"""Declared request schemas of the Compute API and its stand-in services.

One module per resource; each holds the Pydantic models of its request
bodies (``<Op>Request``) and query strings (``<Op>Query``).  The routes
declare them as parameters, so FastAPI validates every request before the
handler runs and publishes them in ``/openapi.json``; a validation failure
becomes Nova's 400 body (``api.errors``).  ``common`` holds the shared
types (bounded integers, names, metadata) and the microversion gate: a field
that exists only from microversion X.Y carries ``min_version`` and is
refused as unexpected before it, as Nova's per-version JSON schemas do.

Nova's ``nova/api/openstack/compute/schemas/*.py`` is the reference for the
shapes and bounds; the handlers keep the checks that need the database.
"""
