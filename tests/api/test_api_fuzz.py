"""Schemathesis against the published /openapi.json: every operation, with
bodies, query strings and headers generated from the declared schemas (valid
and invalid), as a member of a project of its own.  No answer may be a 5xx.

Bounded: ``MAX_EXAMPLES`` generated cases per operation
(``NOVAFLOW_FUZZ_EXAMPLES``, default 10), no shrinking, so the whole run takes
about a minute; ``NOVAFLOW_FUZZ_COVERAGE=1`` adds schemathesis' coverage phase
(every parameter's boundary values, ~4,400 requests).  The last test prints the
request and status counts (``fuzz: N requests, statuses {...}``).
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings

from api.app import create_app
from novaflow.settings import Settings

MAX_EXAMPLES = int(os.environ.get("NOVAFLOW_FUZZ_EXAMPLES", "10"))
# The fuzz cases run as the stack's Keystone user ``demo`` (a member);
# NOVAFLOW_FUZZ_AS=admin fuzzes as an admin (destructive: deletes flavors and
# services of the session stack, so only on its own, never in the suite).
FUZZ_AS = os.environ.get("NOVAFLOW_FUZZ_AS", "demo")
STATUSES: Counter[int] = Counter()


def _published_schema() -> dict:
    """The document the API serves at /openapi.json (built without a server: the
    test stack's own is fetched and compared in the test below)."""
    app = create_app(Settings(state_dir=Path(tempfile.mkdtemp()), service_password="unused"),
                     temporal=object())
    return app.openapi()


DOCUMENT = _published_schema()
schema = schemathesis.openapi.from_dict(DOCUMENT)
# The coverage phase sends each parameter's boundary values (the 30-digit
# numbers, the empty and over-long strings): ~45 requests an operation, two
# to three minutes here, so it runs when asked (NOVAFLOW_FUZZ_COVERAGE=1).
# Requests with undeclared methods only measure Starlette's 405: left out.
schema.config.phases.coverage.enabled = os.environ.get("NOVAFLOW_FUZZ_COVERAGE") == "1"
schema.config.phases.coverage.unexpected_methods = set()


def test_the_served_document_is_the_fuzzed_one(anon):
    served = anon.get("/openapi.json").json()
    assert served == DOCUMENT
    operations = [op for ops in served["paths"].values() for op in ops.values()]
    assert sum("requestBody" in op for op in operations) >= 17
    assert sum(any(p["in"] == "query" for p in op.get("parameters", ()))
               for op in operations) >= 20


@pytest.fixture(scope="module")
def fuzz_login(stack):
    """The fuzzing user's client: its ``keystone.token()`` renews itself."""
    with stack.client(FUZZ_AS) as client:
        yield client


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True,
          phases=[Phase.explicit, Phase.generate],
          suppress_health_check=list(HealthCheck))
def test_no_operation_answers_5xx(case, stack, fuzz_login):
    # The generated token is replaced by a real one, so requests get past auth.
    headers = {**(case.headers or {}), "X-Auth-Token": fuzz_login.keystone.token()}
    response = case.call(base_url=stack.api_url, headers=headers, timeout=30)
    STATUSES[response.status_code] += 1
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path} -> {response.status_code}: "
        f"{response.text[:300]}\n{case.as_curl_command()}")


def test_the_fuzzer_reached_the_api(request):
    """Runs after the fuzz cases (file order): they did send requests, and which."""
    line = (f"fuzz: {sum(STATUSES.values())} requests, statuses "
            f"{dict(sorted(STATUSES.items()))}")
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(line)
    print(line)  # shown with -s or -rP
    assert sum(STATUSES.values()) >= 2 * 90, line
    assert not [s for s in STATUSES if s >= 500], line
