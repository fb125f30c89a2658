"""The header block of a mail read from a binary stream (RFC 5322 §2.2, §3.5).

What counts as the header block is what msmtp counts: everything before the
first empty line, whatever it looks like.  A mail that starts with body text has
that text in its "header block" (msmtp then prepends its headers without a blank
line, and so do we).  The empty line itself is the :attr:`HeaderBlock.separator`;
the body is whatever the stream holds after it.

Like msmtp, every CR inside the header block is dropped (so CRLF becomes LF and a
lone CR disappears); the block is otherwise kept byte for byte for output.  Field
names are matched case-insensitively and must be followed directly by ``:``, as
msmtp matches them (``Bcc :`` is not a Bcc field).

Memory stays bounded: the raw block is spooled (in memory up to
``SPOOL_IN_MEMORY`` bytes, then in an anonymous temporary file) and only the fields
message handling looks at are kept as :class:`Field` objects.
"""

from __future__ import annotations

import io

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (import cost)
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import BinaryIO, Protocol

    class LineReader(Protocol):
        """What a header block is read from: a binary stream's ``readline``."""

        def readline(self, size: int = -1, /) -> bytes: ...

#: Longest piece read at once; longer physical lines are read in several pieces.
LINE_PIECE = 64 * 1024
#: Header bytes kept in memory before the spool moves to a temporary file.
SPOOL_IN_MEMORY = 1024 * 1024

#: Fields whose content message handling needs (lower case); plus every ``resent-*``.
TRACKED_FIELDS = frozenset({"from", "to", "cc", "bcc", "date", "message-id"})

# RFC 5322 §2.2: field-name = 1*ftext, ftext = %d33-57 / %d59-126
_FTEXT = frozenset(range(33, 127)) - {ord(":")}
_WSP = b" \t"


def field_name(line: bytes) -> str | None:
    """The field name a header line starts with, or None if it does not start a field."""
    colon = line.find(b":", 0, 1000)
    if colon <= 0 or not all(byte in _FTEXT for byte in line[:colon]):
        return None
    return line[:colon].decode("ascii")


def tracked(name: str) -> bool:
    """Default *keep* predicate: the fields recipients, From and the added headers depend on."""
    lower = name.lower()
    return lower in TRACKED_FIELDS or lower.startswith("resent-")


class Field:
    """A header field: ``name`` as written, ``raw`` bytes (LF line ends), ``index`` in the block."""

    __slots__ = ("index", "name", "raw")

    def __init__(self, name: str, raw: bytes, index: int) -> None:
        self.name = name
        self.raw = raw
        self.index = index

    @property
    def lname(self) -> str:
        return self.name.lower()

    @property
    def value(self) -> str:
        """The unfolded value (RFC 5322 §2.2.3), decoded as UTF-8 (undecodable bytes escaped)."""
        body = self.raw[len(self.name) + 1:]
        unfolded = body.replace(b"\n ", b" ").replace(b"\n\t", b"\t").rstrip(b"\n")
        return unfolded.decode("utf-8", "surrogateescape")

    def __repr__(self) -> str:
        return f"Field({self.name!r}, {self.raw!r}, {self.index})"


class HeaderBlock:
    """A mail's header block: kept fields, the spooled raw bytes, and how it ended."""

    def __init__(self, fields: list[Field], spool: BinaryIO, size: int, separator: bytes) -> None:
        self.fields = fields
        self.size = size  # bytes in the spool (CRs already dropped)
        self.separator = separator  # b"\n" if an empty line ended the block, b"" at EOF
        self._spool = spool

    def get_all(self, name: str) -> list[Field]:
        """Every kept field called *name* (case-insensitive), in order."""
        lower = name.lower()
        return [field for field in self.fields if field.lname == lower]

    def get(self, name: str) -> Field | None:
        """The first kept field called *name*, or None."""
        found = self.get_all(name)
        return found[0] if found else None

    def has(self, name: str) -> bool:
        return self.get(name) is not None

    def raw_lines(self) -> Iterator[bytes]:
        """The spooled block again, as pieces of at most ``LINE_PIECE`` bytes ending at LFs."""
        self._spool.seek(0)
        while piece := self._spool.readline(LINE_PIECE):
            yield piece

    def filtered(self, drop: Callable[[str], bool]) -> Iterator[bytes]:
        """The raw block without the fields (with continuation lines) whose name *drop* accepts."""
        dropping = False
        at_line_start = True
        for piece in self.raw_lines():
            if at_line_start and piece[:1] not in (b" ", b"\t"):
                name = field_name(piece)
                dropping = name is not None and drop(name)
            if not dropping:
                yield piece
            at_line_start = piece.endswith(b"\n")

    def close(self) -> None:
        self._spool.close()


def read_header_block(
    stream: LineReader, *, keep: Callable[[str], bool] = tracked
) -> HeaderBlock:
    """Read up to and including the first empty line of *stream* (RFC 5322 §2.1).

    The stream is left positioned at the first byte of the body.  Fields whose
    name *keep* accepts are collected as :class:`Field` objects.
    """
    reader = _BlockReader(keep)
    while piece := stream.readline(LINE_PIECE):
        # msmtp drops every CR in the header block (src/msmtp.c: msmtp_read_headers)
        piece = piece.replace(b"\r", b"")
        if piece and reader.feed(piece):
            return reader.result(b"\n")
    return reader.result(b"")


class _BlockReader:
    """Accumulates header pieces: spools them and collects the kept fields."""

    def __init__(self, keep: Callable[[str], bool]) -> None:
        self.keep = keep
        self.spool = _Spool()
        self.fields: list[Field] = []
        self.current: list[bytes] | None = None  # pieces of the kept field being read
        self.current_name = ""
        self.index = -1
        self.at_line_start = True

    def feed(self, piece: bytes) -> bool:
        """Take one CR-free piece; return True if it is the empty line ending the block."""
        if self.at_line_start:
            if piece == b"\n":
                return True
            if piece[0] not in _WSP:  # not a continuation line (RFC 5322 §2.2.3)
                self.start_field(piece)
        if self.current is not None:
            self.current.append(piece)
        self.spool.write(piece)
        self.at_line_start = piece.endswith(b"\n")
        return False

    def start_field(self, piece: bytes) -> None:
        self.finish_field()
        self.index += 1
        name = field_name(piece)
        if name is not None and self.keep(name):
            self.current, self.current_name = [], name

    def finish_field(self) -> None:
        if self.current is not None:
            self.fields.append(Field(self.current_name, b"".join(self.current), self.index))
            self.current = None

    def result(self, separator: bytes) -> HeaderBlock:
        self.finish_field()
        return HeaderBlock(self.fields, self.spool.file(), self.spool.size, separator)


class _Spool:
    """Bytes in memory up to ``SPOOL_IN_MEMORY``, then in an anonymous temporary file."""

    def __init__(self) -> None:
        self.buffer: BinaryIO = io.BytesIO()
        self.size = 0
        self.on_disk = False

    def write(self, data: bytes) -> None:
        self.size += len(data)
        if not self.on_disk and self.size > SPOOL_IN_MEMORY:
            import tempfile  # rare: only for huge header blocks; keeps the import path cheap

            disk = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the block)
            self.buffer.seek(0)  # at most SPOOL_IN_MEMORY bytes: one copy is cheap
            disk.write(self.buffer.read())
            self.buffer.close()
            self.buffer, self.on_disk = disk, True
        self.buffer.write(data)

    def file(self) -> BinaryIO:
        self.buffer.seek(0)
        return self.buffer
