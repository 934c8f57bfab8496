"""Glance's WSGI entry point for gunicorn, run in the OpenStack venv (it
imports nothing of novaflow).  Glance reads ``glance-api.conf`` from
``OS_GLANCE_CONFIG_DIR``; oslo.config must not parse gunicorn's argv."""

import sys

sys.argv = sys.argv[:1]

from glance.wsgi.api import application  # noqa: E402

__all__ = ["application"]
