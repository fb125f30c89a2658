"""Durations as written in ``config.toml``: ``30s``, ``5m``, ``1h``, ``2d``, ``1w`` and sums (``1h30m``).

Stdlib only: the sendmail entry path reads the queue settings on every mail.
"""

from __future__ import annotations

import re
from datetime import timedelta

#: Seconds per unit letter.
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}

_TERM = re.compile(r"\s*(\d+)\s*([smhdw])", re.ASCII)
_WHOLE = re.compile(r"(?:\s*\d+\s*[smhdw])+\s*", re.ASCII)


def parse_duration(text: str) -> timedelta:
    """The duration *text* denotes; ``"0"`` is zero. Raises ``ValueError`` otherwise.

    Terms add up, so ``"1d 12h"`` is 36 hours.  A bare number other than 0 is
    refused: "30" could mean seconds or minutes, and guessing would be worse.
    """
    if text.strip() == "0":
        return timedelta(0)
    if not _WHOLE.fullmatch(text):
        raise ValueError(f"invalid duration {text!r} (use e.g. 30s, 5m, 1h, 2d, 1w or 1h30m)")
    seconds = sum(int(number) * UNITS[unit] for number, unit in _TERM.findall(text))
    try:
        return timedelta(seconds=seconds)
    except OverflowError:
        raise ValueError(f"duration {text!r} is too long") from None


def format_duration(value: timedelta) -> str:
    """*value* in the notation ``parse_duration`` reads, largest units first (``"1d2h"``)."""
    seconds = int(value.total_seconds())
    if seconds == 0:
        return "0"
    parts = []
    for unit, size in sorted(UNITS.items(), key=lambda item: -item[1]):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
