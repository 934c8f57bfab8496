# The two commands the README promises: `make up` runs the embedded stack,
# `make test` runs the test suite.  Both prepare the machine first.
.PHONY: up test bootstrap lint

bootstrap:
	@scripts/bootstrap.sh --dev

up: bootstrap
	.venv/bin/novaflow up

test: bootstrap
	.venv/bin/python -m pytest -q

lint: bootstrap
	.venv/bin/ruff check .
