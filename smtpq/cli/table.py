"""Aligned text tables that fit a width: flexible columns give way, cut with ``…``.

Columns are laid out at their natural width (the widest cell or title).  When
the line would be wider than the terminal, the widest flexible column shrinks
first, then the next widest, never below its minimum; cells that no longer fit
end in ``…``.  Colour is added after padding, so escape codes never disturb the
alignment, and only when asked (the caller knows whether stdout is a tty).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import click

GAP = "  "
ELLIPSIS = "…"


@dataclass(frozen=True)
class Column:
    """One column: its title, alignment, and whether it may be cut to fit."""

    title: str
    right: bool = False
    flexible: bool = False
    minimum: int = 8
    #: The click.style colour for a cell's text, or None; used only when colouring.
    colour: Callable[[str], str | None] | None = None


def truncate(text: str, width: int) -> str:
    """*text* cut to *width* characters, ending in ``…`` when something was cut."""
    if len(text) <= width:
        return text
    return text[:width - 1] + ELLIPSIS if width > 0 else ""


def fit(natural: Sequence[int], columns: Sequence[Column], width: int | None) -> list[int]:
    """Column widths for a line of at most *width* characters (None: no limit)."""
    widths = list(natural)
    if width is None:
        return widths
    excess = sum(widths) + len(GAP) * (len(widths) - 1) - width
    while excess > 0:
        shrinkable = [i for i, column in enumerate(columns)
                      if column.flexible and widths[i] > min(column.minimum, natural[i])]
        if not shrinkable:
            break
        widest = max(shrinkable, key=widths.__getitem__)
        runner_up = max((widths[i] for i in shrinkable if i != widest), default=0)
        floor = min(columns[widest].minimum, natural[widest])
        target = max(floor, runner_up, widths[widest] - excess)
        if target >= widths[widest]:
            target = widths[widest] - 1  # a tie: take one character, then the other's turn
        excess -= widths[widest] - target
        widths[widest] = target
    return widths


def render(columns: Sequence[Column], rows: Sequence[Sequence[str]], *,
           width: int | None = None, colour: bool = False) -> Iterator[str]:
    """The title line and one line per row, aligned, fitted to *width*."""
    natural = [max([len(column.title), *(len(row[i]) for row in rows)])
               for i, column in enumerate(columns)]
    widths = fit(natural, columns, width)
    yield _line(columns, [column.title for column in columns], widths, colour=False)
    for row in rows:
        yield _line(columns, row, widths, colour=colour)


def _line(columns: Sequence[Column], cells: Sequence[str], widths: Sequence[int], *,
          colour: bool) -> str:
    parts = []
    for column, cell, size in zip(columns, cells, widths, strict=True):
        text = truncate(cell, size)
        padded = text.rjust(size) if column.right else text.ljust(size)
        style = column.colour(cell) if colour and column.colour else None
        parts.append(padded.replace(text, click.style(text, fg=style), 1) if style else padded)
    return GAP.join(parts).rstrip()
