# The two commands the README promises: `make up` runs the embedded stack,
# `make test` runs the test suite.  Both prepare the machine first.
.PHONY: up test bootstrap lint

bootstrap:
	@scripts/bootstrap.sh --dev

up: bootstrap
	.venv/bin/novaflow up

# The whole suite on SQLite, then the end-to-end suite again with PostgreSQL
# as the app database (a throwaway server the session starts, tests/pg.py),
# less the few tests that touch nothing of the database (marker db_agnostic).
test: bootstrap
	.venv/bin/python -m pytest -q
	NOVAFLOW_TEST_DB=postgresql .venv/bin/python -m pytest -q -m "not db_agnostic" tests/e2e

lint: bootstrap
	.venv/bin/ruff check .
