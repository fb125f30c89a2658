"""SMTP replies (RFC 5321 §4.2) and their classes, and reading one from a line source.

The reader keeps msmtp's limits (``smtp_get_msg``): a reply line is at most
1023 bytes including its LF, and a reply has at most 50 continuation lines.
Anything else is a protocol error (EX_PROTOCOL), never an exception escaping
as a crash.
"""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Callable

#: Longest reply line accepted, LF included (msmtp's SMTP_BUFSIZE - 1).
MAX_LINE_BYTES = 1023
#: Most continuation lines in one reply (msmtp's SMTP_MAXLINES).
MAX_LINES = 50

_ENHANCED = re.compile(r"^[245]\.\d{1,3}\.\d{1,3}$")


class ReplyClass(enum.Enum):
    """The first digit of a reply code (RFC 5321 §4.2.1)."""

    POSITIVE_PRELIMINARY = 1
    POSITIVE_COMPLETION = 2
    POSITIVE_INTERMEDIATE = 3
    TRANSIENT_NEGATIVE = 4
    PERMANENT_NEGATIVE = 5


@dataclasses.dataclass(frozen=True)
class Reply:
    """One complete (possibly multi-line) reply; ``lines`` are the raw lines without CRLF."""

    code: int
    lines: tuple[str, ...]

    @property
    def reply_class(self) -> ReplyClass:
        return ReplyClass(self.code // 100)

    @property
    def is_positive(self) -> bool:
        return self.code // 100 == 2

    @property
    def is_transient(self) -> bool:
        return self.code // 100 == 4

    @property
    def is_permanent(self) -> bool:
        return self.code // 100 == 5

    @property
    def text(self) -> str:
        """The text after the code of every line, joined by newlines."""
        return "\n".join(line[4:] for line in self.lines)

    @property
    def enhanced_status(self) -> str | None:
        """The RFC 3463 status code (``5.1.1``) of the first line, if it has one."""
        first = self.lines[0][4:].split(" ", 1)[0] if self.lines else ""
        return first if _ENHANCED.match(first) else None

    def __str__(self) -> str:
        return "\n".join(self.lines)


class ReplyFormatError(Exception):
    """The server sent something that is not a reply; ``message`` is msmtp's text."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def parse_line(raw: bytes, first: bool) -> str:
    """Check one raw reply line (with its LF) and return it without CRLF."""
    if not raw and first:
        raise ReplyFormatError("the server sent an empty reply")
    # RFC 5321 §4.2: three digits, then SP or "-"; msmtp also demands the LF.
    ok = (len(raw) >= 5 and raw[:3].isdigit() and raw[3:4] in (b" ", b"-")
          and raw.endswith(b"\n") and len(raw) <= MAX_LINE_BYTES)
    if not ok:
        raise ReplyFormatError("the server sent an invalid reply")
    return raw.rstrip(b"\n").rstrip(b"\r").decode("utf-8", "replace")


def read_reply(readline: Callable[[int], bytes],
               trace: Callable[[str], None] | None = None) -> Reply:
    """Read one reply; *readline(limit)* returns one line with its LF, or less at EOF."""
    lines: list[str] = []
    while True:
        raw = readline(MAX_LINE_BYTES + 1)
        line = parse_line(raw, first=not lines)
        if trace is not None:
            trace(raw.decode("utf-8", "replace"))
        lines.append(line)
        if len(lines) > MAX_LINES:
            raise ReplyFormatError(
                f"Rejecting server reply that is longer than {MAX_LINES} lines. "
                "Increase SMTP_MAXLINES.")
        if line[3] != "-":
            return Reply(int(lines[0][:3]), tuple(lines))
