"""SMTP replies (RFC 5321 §4.2) and their classes."""

from __future__ import annotations

import dataclasses
import enum


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
    def is_transient(self) -> bool:
        return self.code // 100 == 4

    @property
    def is_permanent(self) -> bool:
        return self.code // 100 == 5

    @property
    def text(self) -> str:
        """The text after the code of every line, joined by newlines."""
        return "\n".join(line[4:] for line in self.lines)
