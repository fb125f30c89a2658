"""Lines of an msmtprc file: reading them as msmtp does, and splitting command and argument.

msmtp reads its configuration with ``fgets`` into a 501-byte buffer
(``LINEBUFSIZE``), so these rules are byte-exact emulations of that C code,
verified against msmtp 1.8.23:

* a physical line may hold at most 499 bytes plus its ``\\n`` (498 plus
  ``\\r\\n``); a 500-byte chunk without a newline is the error
  ``line longer than 500 characters`` (no line number);
* a NUL byte ends the C string: the rest of that ``fgets`` chunk is lost;
* the ``\\n`` and one ``\\r`` before it are removed, nothing else;
* blanks are space and tab only; a line whose first non-blank is ``#`` or
  that is blank is ignored (there are no trailing comments);
* the command is the first word, the argument the rest with outer blanks
  trimmed, and one pair of surrounding ``"`` removed (no escapes).

Values are ``str`` decoded as UTF-8 with ``surrogateescape`` so that any byte
survives a round trip (``os.fsencode``-style).
"""

from __future__ import annotations

from smtpq.sender.errors import LineTooLong
from smtpq.sender.record import FrozenRecord

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (import cost)
if TYPE_CHECKING:
    from collections.abc import Iterator

#: msmtp's LINEBUFSIZE - 1: the most bytes one fgets() call returns.
LINE_LIMIT = 500
BLANKS = " \t"


class Line(FrozenRecord):
    """One logical line: its 1-based number, command and argument (None for an ignored line)."""

    __slots__ = ("argument", "command", "number")
    FIELDS = ("number", "command", "argument")

    number: int
    command: str | None
    argument: str

    def __init__(self, number: int, command: str | None, argument: str) -> None:
        self._freeze(number=number, command=command, argument=argument)


def decode(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def fgets_chunks(data: bytes) -> Iterator[bytes]:
    """What successive ``fgets(buf, 501, f)`` calls return: up to 500 bytes, ending at ``\\n``."""
    pos = 0
    while pos < len(data):
        newline = data.find(b"\n", pos, pos + LINE_LIMIT)
        end = newline + 1 if newline != -1 else min(len(data), pos + LINE_LIMIT)
        yield data[pos:end]
        pos = end


def chunk_text(chunk: bytes) -> str:
    """The line msmtp sees in one chunk; raises LineTooLong as msmtp does."""
    c_string = chunk.split(b"\0", 1)[0]
    newline = c_string.find(b"\n")
    if newline != -1:
        c_string = c_string[:newline]
        if c_string.endswith(b"\r"):
            c_string = c_string[:-1]
    elif len(c_string) == LINE_LIMIT:
        raise LineTooLong(LINE_LIMIT)
    return decode(c_string)


def first_output_line(output: bytes) -> str:
    """The first line of a command's output as msmtp's ``eval`` takes it.

    Unlimited length; the ``\\n`` and one ``\\r`` before it are removed, but a
    lone trailing ``\\r`` without ``\\n`` is kept (verified).
    """
    line, newline, _rest = output.partition(b"\n")
    if newline and line.endswith(b"\r"):
        line = line[:-1]
    return decode(line.split(b"\0", 1)[0])


def split_line(text: str) -> tuple[str | None, str]:
    """msmtp's ``get_next_cmd`` on one line: (command, argument), command None if ignored."""
    start = len(text) - len(text.lstrip(BLANKS))
    if start == len(text) or text[start] == "#":
        return None, ""
    end = start
    while end < len(text) and text[end] not in BLANKS:
        end += 1
    return text[start:end], trim_string(text[end:])


def trim_string(text: str) -> str:
    """msmtp's ``trim_string``: strip blanks, then one pair of enclosing double quotes."""
    text = text.strip(BLANKS)
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        return text[1:-1]
    return text


def read_lines(data: bytes) -> Iterator[Line]:
    """Every line of *data*, numbered as msmtp numbers them (one per fgets chunk)."""
    for number, chunk in enumerate(fgets_chunks(data), start=1):
        command, argument = split_line(chunk_text(chunk))
        yield Line(number, command, argument)
