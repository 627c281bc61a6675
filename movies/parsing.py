"""Strict integer parsing for every number a client sends: query strings, form fields, JSON.

The one copy for the whole site. Only ASCII digits count: ``str.isdigit()`` and ``int()``
accept more than a client means ("²".isdigit() is true while int("²") fails; int("٣") is 3;
int(" 1_0 ") is 10), and a very long digit string costs ``int()`` time, so both are refused
before ``int()`` sees them.
"""
from __future__ import annotations

import re

# An optional minus and at most 20 ASCII digits: no '+', spaces, '_' or other scripts' digits.
_INTEGER = re.compile(r"-?[0-9]{1,20}")


def parse_int(value, *, low: int, high: int, text: bool = True) -> int | None:
    """The integer ``value`` stands for when it lies in [low, high], else None.

    Args:
        value: a string of ASCII digits with an optional leading '-' (query and form input), or
            a JSON number: an int, or a float with an integral value (JSON has one number type,
            so 2.0 is 2). Booleans are never numbers.
        low, high: the inclusive range; numbers outside it give None.
        text: whether strings are accepted (False for JSON, where "5" is not a number).
    Returns:
        The integer, or None.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        if not text or not _INTEGER.fullmatch(value):
            return None
        number = int(value)
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    else:
        return None
    return number if low <= number <= high else None
