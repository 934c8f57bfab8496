"""Nova's extra-spec operator language, for capability and aggregate matching.

A requirement string is either a bare value (compared for equality) or an
operator followed by operands:
  =  (numeric >=), ==, !=, >=, <=        numeric comparisons
  s==, s!=, s<, s<=, s>, s>=            string comparisons
  <in> x                                x is a substring of the value
  <all-in> x y ...                      every word is in the value
  <or> a <or> b ...                     the value equals one of a, b, ...
As in Nova, an unknown first word means the whole string is a bare value.
"""

from __future__ import annotations

import operator
from collections.abc import Callable


def _num(op: Callable[[float, float], bool]) -> Callable[[str, str], bool]:
    return lambda value, req: op(float(value), float(req))


_OPS: dict[str, Callable[[str, str], bool]] = {
    "=": _num(operator.ge),
    "==": _num(operator.eq),
    "!=": _num(operator.ne),
    ">=": _num(operator.ge),
    "<=": _num(operator.le),
    "s==": operator.eq,
    "s!=": operator.ne,
    "s<": operator.lt,
    "s<=": operator.le,
    "s>": operator.gt,
    "s>=": operator.ge,
    "<in>": lambda value, req: req in value,
}


def match(value: str | None, req: str) -> bool:
    """Whether a host value satisfies a requirement string."""
    words = req.split()
    op = words.pop(0) if words else None
    if op not in _OPS and op not in ("<or>", "<all-in>"):
        return value == req
    if value is None or not words:
        return False
    if op == "<or>":
        # Operands sit at even positions: a <or> b <or> c.
        return value in words[0::2]
    if op == "<all-in>":
        return all(word in value for word in words)
    try:
        return _OPS[op](value, words[0])
    except ValueError:
        # Nova would raise on a non-numeric value; here it simply does not match.
        return False
