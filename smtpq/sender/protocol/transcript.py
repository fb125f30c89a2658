"""The ``--debug`` transcript: ``--> `` for what we send, ``<-- `` for what we read.

msmtp writes each line as it went over the wire, CRLF included, to stdout.
Unlike msmtp (which prints AUTH payloads in clear), lines marked secret and
the client's continuation lines of an AUTH exchange (RFC 4954 §4) are shown
as ``[redacted]``, so passwords never reach a debug log.
"""

from __future__ import annotations

import codecs
import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (import cost)
if TYPE_CHECKING:
    from collections.abc import Callable  # the collections package: 1.7 ms
    from typing import TextIO, TypeAlias

#: Receives one already formatted transcript line ("--> EHLO x\r\n").
Transcript: TypeAlias = "Callable[[str], None]"

REDACTED = "[redacted]"


def debug_printer(stream: TextIO | None = None) -> Transcript:
    """A transcript writing to *stream* (default: ``sys.stdout`` at call time), as msmtp -d."""

    def emit(text: str) -> None:
        out = stream if stream is not None else sys.stdout
        out.write(text)
        out.flush()

    return emit


def redact(line: str) -> str:
    """Hide the credentials of a command line: keep ``AUTH MECH``, drop the rest."""
    words = line.split(" ")
    if len(words) >= 2 and words[0].upper() == "AUTH":
        shown = " ".join(words[:2])
        return shown + (" " + REDACTED if len(words) > 2 else "")
    return REDACTED


class Tracer:
    """Formats lines for a :data:`Transcript`; a no-op when there is none."""

    def __init__(self, sink: Transcript | None) -> None:
        self.sink = sink
        self._partial = ""
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")

    def __bool__(self) -> bool:
        return self.sink is not None

    def sent(self, line: str, *, secret: bool = False) -> None:
        if self.sink is not None:
            self.sink("--> " + (redact(line) if secret else line) + "\r\n")

    def received(self, raw_line: str) -> None:
        if self.sink is not None:
            self.sink("<-- " + raw_line)

    def data(self, chunk: bytes) -> None:
        """Mail data as msmtp shows it: one ``--> `` line per line."""
        if self.sink is None:
            return
        *complete, self._partial = (self._partial + self._decoder.decode(chunk)).split("\n")
        for line in complete:
            self.sink("--> " + line + "\n")

    def data_end(self) -> None:
        """Flush a last line that had no line ending."""
        if self.sink is not None and self._partial:
            self.sink("--> " + self._partial + "\r\n")
        self._partial = ""
