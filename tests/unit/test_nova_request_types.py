"""Request types read as Nova's schemas read them: its boolean words, numeric
flavor ids, digit strings, accessIPv4/6 formats."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from api.schemas.common import nova_boolean
from api.schemas.flavors import FlavorCreateRequest
from api.schemas.servers import ServerUpdateRequest
from api.schemas.services import ServiceUpdateRequest


@pytest.mark.parametrize("word,value", [("True", True), ("yes", True), ("1", True), ("ON", True),
                                        ("False", False), ("no", False), ("0", False),
                                        (True, True), (False, False)])
def test_novas_boolean_words(word, value):
    assert nova_boolean(word) is value
    assert ServiceUpdateRequest.model_validate({"forced_down": word}).forced_down is value


@pytest.mark.parametrize("bad", ["maybe", "", "tRuE", 1, None, []])
def test_what_is_not_a_nova_boolean(bad):
    assert nova_boolean(bad) is None
    if bad is not None:
        with pytest.raises(ValidationError):
            ServiceUpdateRequest.model_validate({"forced_down": bad})


def _flavor(**extra) -> dict:
    return {"flavor": {"name": "f", "ram": 1, "vcpus": 1, "disk": 0, **extra}}


def test_flavor_ids_and_numbers_as_nova_takes_them():
    made = FlavorCreateRequest.model_validate(_flavor(id=7, ram="64", rxtx_factor="2.0",
                                                      **{"os-flavor-access:is_public": "no"}))
    assert made.as_dict()["flavor"] == {"name": "f", "id": 7, "ram": 64, "vcpus": 1, "disk": 0,
                                        "rxtx_factor": "2.0",
                                        "os-flavor-access:is_public": False}
    for bad in ({"id": True}, {"id": " lead"}, {"rxtx_factor": "x"}, {"ram": "1.5"}):
        with pytest.raises(ValidationError):
            FlavorCreateRequest.model_validate(_flavor(**bad))


def test_access_ips_have_novas_formats():
    ok = ServerUpdateRequest.model_validate({"server": {"accessIPv4": "10.0.0.1",
                                                        "accessIPv6": "2001:DB8::1"}})
    assert ok.as_dict()["server"] == {"accessIPv4": "10.0.0.1", "accessIPv6": "2001:db8::1"}
    for bad in ({"accessIPv4": "::1"}, {"accessIPv4": "10.0.0"}, {"accessIPv6": "10.0.0.1"}):
        with pytest.raises(ValidationError):
            ServerUpdateRequest.model_validate({"server": bad})
