"""Console tokens (schema/console_tokens.py) on a real database: stored only
as a hash, live until their expiry, usable once; the URLs Nova hands out;
the request log never shows a token; and where a domain's consoles listen."""

from __future__ import annotations

import hashlib
import time

import pytest
from sqlalchemy import delete
from sqlmodel import select

from activities.hypervisor.console import console_endpoint_from_xml
from api.app import _loggable
from api.consoles import access_url
from schema import console_tokens
from schema.db import Database
from schema.migrate import upgrade
from schema.models import ConsoleAuthToken


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('tokens') / 'tokens.db'}"
    upgrade(url)
    database = Database(url)
    yield database
    database.dispose()


@pytest.fixture
def db(database):
    with database.writer() as s:
        s.execute(delete(ConsoleAuthToken))
    return database


def _issue(db, now=None, ttl=600):
    with db.writer() as s:
        return console_tokens.issue(s, instance_uuid="i-1", console_type="serial",
                                    host="127.0.0.1", port=10000, internal_access_path=None,
                                    ttl=ttl, now=now)


def test_only_the_hash_is_stored(db):
    token = _issue(db)
    assert len(token) >= 40
    with db.reader() as s:
        rows = s.exec(select(ConsoleAuthToken)).all()
    assert [r.token_hash for r in rows] == [hashlib.sha256(token.encode()).hexdigest()]
    assert token not in str(rows[0].model_dump())


def test_a_token_lives_until_its_expiry_and_serves_once(db):
    now = time.time()
    token = _issue(db, now=now, ttl=600)
    with db.reader() as s:
        assert console_tokens.find(s, token, now=now + 599) is not None
        assert console_tokens.find(s, token, now=now + 600) is None
        assert console_tokens.find(s, token + "x", now=now) is None
    with db.writer() as s:
        assert console_tokens.consume(s, token, now=now + 600) is None  # expired
        used = console_tokens.consume(s, token, now=now)
    assert used is not None and (used.host, used.port) == ("127.0.0.1", 10000)
    with db.writer() as s:
        assert console_tokens.consume(s, token, now=now) is None  # used up


def test_issuing_purges_expired_tokens(db):
    _issue(db, now=time.time() - 700)
    _issue(db)
    with db.reader() as s:
        assert len(s.exec(select(ConsoleAuthToken)).all()) == 1


def test_access_urls_are_novas():
    assert (access_url("http://h:6080", "novnc", "abc")
            == "http://h:6080/vnc_auto.html?path=%3Ftoken%3Dabc")
    assert access_url("http://h:6080", "serial", "abc") == "ws://h:6080/?token=abc"
    assert access_url("https://h", "serial", "abc") == "wss://h/?token=abc"


def test_the_request_log_hides_console_tokens():
    assert _loggable("/v2.1/os-console-auth-tokens/s3cret") == "/v2.1/os-console-auth-tokens/***"
    assert _loggable("/v2.1/servers") == "/v2.1/servers"


LIVE_XML = """<domain type='qemu'><devices>
  <serial type='tcp'><source mode='bind' host='127.0.0.1' service='10005'/>
    <protocol type='raw'/><target port='0'/></serial>
  <graphics type='vnc' port='5901' autoport='yes' listen='127.0.0.1'/>
</devices></domain>"""


def test_consoles_are_read_from_the_live_domain_xml():
    assert console_endpoint_from_xml(LIVE_XML, "vnc") == ("127.0.0.1", 5901)
    assert console_endpoint_from_xml(LIVE_XML, "serial") == ("127.0.0.1", 10005)
    inactive = LIVE_XML.replace("port='5901'", "port='-1'")
    assert console_endpoint_from_xml(inactive, "vnc") is None
    bare = "<domain><devices><serial type='pty'/></devices></domain>"
    assert console_endpoint_from_xml(bare, "vnc") is None
    assert console_endpoint_from_xml(bare, "serial") is None


def test_the_proxy_masks_tokens_in_uvicorns_log_lines():
    import logging

    from workers.console_proxy import HideTokens

    record = logging.LogRecord("uvicorn.error", logging.INFO, __file__, 1,
                               '%s - "WebSocket %s" [accepted]',
                               ("127.0.0.1:5", "/?token=s3cret&x=1"), None)
    HideTokens().filter(record)
    assert record.getMessage() == '127.0.0.1:5 - "WebSocket /?token=***&x=1" [accepted]'
    novnc = logging.LogRecord("x", logging.INFO, __file__, 1,
                              "GET /vnc_auto.html?path=%3Ftoken%3Ds3cret", None, None)
    HideTokens().filter(novnc)
    assert "s3cret" not in novnc.getMessage()
