"""os-getConsoleOutput on the test driver: Nova's body and errors, the text
read on the host (a test-driver guest prints nothing)."""

from __future__ import annotations

from api_support import assert_nova_error, boot, delete_all, wait_status


def _console(client, sid, body):
    return client.post(f"/v2.1/servers/{sid}/action", json={"os-getConsoleOutput": body})


def test_console_output_is_read_on_the_host(demo, catalog_ids):
    sid = boot(demo, catalog_ids, "console-vm")
    try:
        wait_status(demo, sid, {"ACTIVE"})
        for body in ({}, {"length": 5}, {"length": "5"}, {"length": -1}, {"length": None}):
            resp = _console(demo, sid, body)
            assert resp.status_code == 200, resp.text
            assert resp.json() == {"output": ""}
        for bad in ({"length": "x"}, {"length": -2}, {"lines": 3}, "all"):
            assert_nova_error(_console(demo, sid, bad), 400, "badRequest")
    finally:
        delete_all(demo, [sid])


def test_console_output_of_another_projects_server_is_not_found(demo, other, catalog_ids):
    sid = boot(demo, catalog_ids, "console-private")
    try:
        assert_nova_error(_console(other, sid, {}), 404, "itemNotFound")
    finally:
        delete_all(demo, [sid])
