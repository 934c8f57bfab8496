"""Regular expressions that come from users (``GET /servers?name=...&ip=...``).

They are compiled with RE2 (google-re2), whose matching time is linear in the
input, so no pattern can make a request spin: ``^(a+)+$`` against 255
characters costs microseconds, not minutes as with Python's backtracking
``re``.  RE2 has no backreferences or lookarounds; a pattern it cannot
compile is refused with Nova's 400 rather than handed to a backtracking
engine.  Compiled patterns are limited in memory too (``MAX_MEM``).
"""

from __future__ import annotations

import re2

from api.errors import BadRequest

MAX_MEM = 8 << 20  # bytes RE2 may use for one compiled pattern
MAX_PATTERN = 1024  # characters; a filter longer than this is not a name filter


def _options() -> re2.Options:
    options = re2.Options()
    options.log_errors = False  # a user's bad pattern is a 400, not a log line
    options.max_mem = MAX_MEM
    return options


def compile_filter(key: str, pattern: str):
    """``pattern`` compiled by RE2 (has ``.search``), or 400 naming the filter."""
    if len(pattern) > MAX_PATTERN:
        raise BadRequest(f"Invalid filter field: {key}. (pattern longer than "
                         f"{MAX_PATTERN} characters)")
    try:
        return re2.compile(pattern, options=_options())
    except (re2.error, TypeError, ValueError):
        raise BadRequest(f"Invalid filter field: {key}. ({pattern:.100}): not a regular "
                         "expression this cloud accepts (RE2 syntax, no backreferences "
                         "or lookarounds)") from None
