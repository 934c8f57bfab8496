"""JsonFilter: Nova's query language over host variables."""

import json

from activities.scheduler.filters import JsonFilter


def _q(query):
    return {"query": json.dumps(query)}


def test_no_query_passes(make_host, make_spec):
    assert JsonFilter().host_passes(make_host(), make_spec()) is None


def test_comparisons_on_derived_variables(make_host, make_spec):
    f = JsonFilter()
    host = make_host(memory_mb=8192, memory_mb_used=1024, reserved_host_memory_mb=0)
    assert f.host_passes(host, make_spec(scheduler_hints=_q([">=", "$free_ram_mb", 4096]))) \
        is None
    assert f.host_passes(host, make_spec(scheduler_hints=_q(["<", "$free_ram_mb", 4096]))) == (
        "JsonFilter: query evaluates false")


def test_and_or_not_in(make_host, make_spec):
    f = JsonFilter()
    host = make_host("host-a", vcpus=8, vcpus_used=2)
    query = ["and",
             ["or", ["=", "$vcpus_total", 4], ["=", "$vcpus_total", 8]],
             ["not", [">", "$vcpus_used", 4]],
             ["in", "$host", "host-a", "host-b"]]
    assert f.host_passes(host, make_spec(scheduler_hints=_q(query))) is None
    assert f.host_passes(make_host("host-c", vcpus=8), make_spec(scheduler_hints=_q(query))) \
        is not None


def test_nested_variables_and_missing_ones(make_host, make_spec):
    f = JsonFilter()
    host = make_host(capabilities={"gpu": {"model": "a100"}})
    assert f.host_passes(host, make_spec(
        scheduler_hints=_q(["=", "$capabilities.gpu.model", "a100"]))) is None
    # A missing variable drops out, leaving too few operands: false.
    assert f.host_passes(host, make_spec(
        scheduler_hints=_q(["=", "$no_such_thing", 1]))) is not None


def test_type_mismatch_is_false_not_an_error(make_host, make_spec):
    spec = make_spec(scheduler_hints=_q(["<", "$free_ram_mb", "lots"]))
    assert JsonFilter().host_passes(make_host(), spec) == "JsonFilter: query evaluates false"


def test_invalid_query_rejects_with_reason(make_host, make_spec):
    f = JsonFilter()
    assert f.host_passes(make_host(), make_spec(scheduler_hints={"query": "[not json"})) \
        .startswith("JsonFilter: invalid query: query hint is not JSON")
    assert f.host_passes(make_host(), make_spec(scheduler_hints=_q(["~", 1, 2]))) == (
        "JsonFilter: invalid query: unknown operator '~'")
