"""The Alembic migrations build exactly the schema the SQLModel tables describe."""

from __future__ import annotations

from alembic import command

from schema.migrate import alembic_config, upgrade


def test_migrations_match_the_models(tmp_path):
    url = f"sqlite:///{tmp_path / 'check.db'}"
    upgrade(url)
    # Raises if autogenerate would find any difference left to migrate.
    command.check(alembic_config(url))


def test_upgrade_is_idempotent(tmp_path):
    url = f"sqlite:///{tmp_path / 'twice.db'}"
    upgrade(url)
    upgrade(url)


def test_migrations_match_the_models_on_postgresql(postgres):
    url = postgres.create_database("migrations_check")
    upgrade(url)
    upgrade(url)  # idempotent there too
    command.check(alembic_config(url))
