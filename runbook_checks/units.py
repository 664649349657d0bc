"""Units: durations read from runbooks and shown to people.

Every time in the package is a float of seconds named ``*_s``; this module is where a
written duration (``"90s"``, ``"1-2 min"``) becomes one and where one becomes words.
"""

from __future__ import annotations

import re
from typing import Any

_DURATION_RE = re.compile(
    r"^\s*(?P<lo>\d+(?:\.\d+)?)\s*(?:[-\u2013\u2014]\s*(?P<hi>\d+(?:\.\d+)?))?\s*"
    r"(?P<unit>s|sec|secs|seconds?|m|min|mins|minutes?|h|hr|hours?|d|days?)?\s*$"
)
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: Any, *, default_unit: str = "s") -> tuple[float, float] | None:
    """A written duration or range as ``(low_s, high_s)`` seconds, or ``None`` when unreadable.

    ``"1-2 min"`` -> ``(60, 120)``; ``"90"`` -> ``(90, 90)`` (``default_unit`` applies to a
    bare number); units s/min/h/d in their usual spellings; a range whose high end is below
    its low end, a boolean or any other text is ``None``. Never raises.
    """
    if isinstance(text, bool):
        return None
    m = _DURATION_RE.match(str(text))
    if not m:
        return None
    unit = (m.group("unit") or default_unit)[0]
    lo = float(m.group("lo")) * _UNIT_S[unit]
    hi = float(m.group("hi")) * _UNIT_S[unit] if m.group("hi") else lo
    return (lo, hi) if hi >= lo else None


def format_duration(seconds: float) -> str:
    """``seconds`` for people: ``"1.25 s"`` under 10 s, ``"12.5 s"`` under a minute, else ``"3 min 05 s"``."""
    if seconds < 10:
        return f"{seconds:.2f} s"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} min {secs:02d} s"
