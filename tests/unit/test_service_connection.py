"""The service user's openstacksdk connection: one keystoneauth session whose
token is renewed before it expires, but not on every call when Keystone's
tokens are short-lived (the test stack's live 30 s)."""

from __future__ import annotations

from novaflow.cloud import host_connection
from novaflow.settings import Settings


def _min_life(tmp_path, expiration: int) -> int:
    settings = Settings(state_dir=tmp_path, service_password="pw",
                        keystone_token_expiration=expiration)
    return host_connection(settings).session.auth.MIN_TOKEN_LIFE_SECONDS


def test_hour_long_tokens_keep_keystoneauths_two_minutes(tmp_path):
    assert _min_life(tmp_path, 3600) == 120


def test_short_tokens_are_renewed_at_a_quarter_of_their_life(tmp_path):
    assert _min_life(tmp_path, 30) == 7
