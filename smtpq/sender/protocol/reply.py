"""SMTP replies (RFC 5321 §4.2), reading one from a line source, and the error one makes.

The reader keeps msmtp's limits (``smtp_get_msg``): a reply line is at most
1023 bytes including its LF, and a reply has at most 50 continuation lines.
Anything else is a protocol error (EX_PROTOCOL), never an exception escaping
as a crash.  ``with_reply`` and ``rejection`` build the delivery error
(``smtpq.sender.errors``) that carries a refusing reply as msmtp logs it.
"""

from __future__ import annotations

from smtpq.sender.errors import DeliveryError, ReplyFormatError, ServerRejection
from smtpq.sender.record import FrozenRecord
from smtpq.sender.sysexits import ExitCode

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (import cost)
if TYPE_CHECKING:
    from collections.abc import Callable
    from re import Pattern

#: Longest reply line accepted, LF included (msmtp's SMTP_BUFSIZE - 1).
MAX_LINE_BYTES = 1023
#: Most continuation lines in one reply (msmtp's SMTP_MAXLINES).
MAX_LINES = 50
#: msmtp's text for end of stream where a reply was due (the peer hung up).
HUNG_UP = "the server sent an empty reply"

_ENHANCED = r"^[245]\.\d{1,3}\.\d{1,3}$"
_enhanced: Pattern[str] | None = None  # compiled on first use: --send-now never asks


class Reply(FrozenRecord):
    """One complete (possibly multi-line) reply; ``lines`` are the raw lines without CRLF.

    A record, not a dataclass (import and class-building cost: smtpq.sender.record).
    """

    __slots__ = ("code", "lines")
    FIELDS = ("code", "lines")

    code: int
    lines: tuple[str, ...]

    def __init__(self, code: int, lines: tuple[str, ...]) -> None:
        self._freeze(code=code, lines=lines)

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
        return first if _enhanced_pattern().match(first) else None

    def __str__(self) -> str:
        return "\n".join(self.lines)


def _enhanced_pattern() -> Pattern[str]:
    global _enhanced
    if _enhanced is None:
        import re

        _enhanced = re.compile(_ENHANCED)
    return _enhanced


def parse_line(raw: bytes, first: bool) -> str:
    """Check one raw reply line (with its LF) and return it without CRLF."""
    if not raw and first:
        raise ReplyFormatError(HUNG_UP)
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


def with_reply(cls: type[DeliveryError], message: str, reply: Reply | None,
               exit_code: int | None = None) -> DeliveryError:
    """An error of class *cls* carrying *reply* as msmtp's ``smtpstatus``/``smtpmsg``."""
    if reply is None:
        return cls(message, exit_code=exit_code)
    return cls(message, exit_code=exit_code, smtp_status=reply.code, smtp_message=reply.lines)


def rejection(message: str, reply: Reply) -> DeliveryError:
    """msmtp's rule for MAIL/RCPT/DATA: 4xx is EX_UNAVAILABLE, anything else EX_DATAERR."""
    code = ExitCode.EX_UNAVAILABLE if reply.is_transient else ExitCode.EX_DATAERR
    return with_reply(ServerRejection, message, reply, code)
