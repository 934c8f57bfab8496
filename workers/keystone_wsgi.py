"""Keystone's WSGI entry point for gunicorn, run in the OpenStack venv (it
imports nothing of novaflow).  oslo.config parses ``sys.argv`` when the app
loads, which would be gunicorn's command line: clear it first.  The config
file comes from ``OS_KEYSTONE_CONFIG_FILES``."""

import sys

sys.argv = sys.argv[:1]

from keystone.wsgi.api import application  # noqa: E402

__all__ = ["application"]
