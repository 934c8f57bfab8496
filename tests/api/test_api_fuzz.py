"""Schemathesis against the published /openapi.json: every operation, with
bodies, query strings and headers generated from the declared schemas (valid
and invalid), as a member of a project of its own.  No answer may be a 5xx.

Bounded: ``MAX_EXAMPLES`` cases per operation, no shrinking, so the whole run
takes well under a minute.  The request and status counts are printed in the
terminal summary (``fuzz: N requests, statuses {...}``).
"""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, Phase, settings

from api.app import create_app
from novaflow.settings import Settings

MAX_EXAMPLES = 3
TOKEN = {"X-Auth-Token": "fuzzer:fuzz"}
STATUSES: Counter[int] = Counter()


def _published_schema() -> dict:
    """The document the API serves at /openapi.json (built without a server: the
    test stack's own is fetched and compared in the test below)."""
    app = create_app(Settings(state_dir=Path(tempfile.mkdtemp())), temporal=object())
    return app.openapi()


DOCUMENT = _published_schema()
schema = schemathesis.openapi.from_dict(DOCUMENT)


def test_the_served_document_is_the_fuzzed_one(anon):
    served = anon.get("/openapi.json").json()
    assert served == DOCUMENT
    operations = [op for ops in served["paths"].values() for op in ops.values()]
    assert sum("requestBody" in op for op in operations) >= 17
    assert sum(any(p["in"] == "query" for p in op.get("parameters", ()))
               for op in operations) >= 20


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True,
          phases=[Phase.explicit, Phase.generate],
          suppress_health_check=list(HealthCheck))
def test_no_operation_answers_5xx(case, stack):
    headers = {**TOKEN, **(case.headers or {})}
    if not headers.get("X-Auth-Token"):
        headers.update(TOKEN)
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
    assert sum(STATUSES.values()) >= 90, line
    assert not [s for s in STATUSES if s >= 500], line
