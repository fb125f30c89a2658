"""The DATA wire format: CRLF line ends and dot-stuffing, streamed in large chunks.

RFC 5321 §2.3.8 and RFC 5322 §2.3: CR and LF only ever travel together as CRLF.
RFC 5321 §4.5.2: a line starting with ``.`` gets one more ``.``, after the line
ends are normalised, so the body can never contain the end-of-data sequence.

* bare LF becomes CRLF, CRLF stays;
* a lone CR is a line break too (becomes CRLF).  **Deliberate difference from
  msmtp**, which passes a lone CR through inside a line: a bare CR is what SMTP
  smuggling (``<LF>.<CR><LF>``, ``<CR>.<CR>`` …) relies on at receivers that
  accept it as a line end.  After this, no receiver can see a line that is just
  ``.`` (peers.md §3.5; Postfix and smtplib also normalise it away);
* a final CRLF is added if the input does not end with a line end;
* the terminating ``.`` CRLF is *not* added: the protocol layer sends it.

:class:`WireEncoder` is the incremental transformer; CR/LF pairs and dots that
straddle chunk boundaries are handled by carrying one byte of state.  It also
counts msmtp's ``mailsize``: the mail as transmitted, each line end counting one
byte and the stuffing dots not at all.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (import cost)
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator  # the collections package: 1.7 ms
    from typing import BinaryIO

CHUNK_SIZE = 64 * 1024


class WireEncoder:
    """Incremental CRLF normaliser and dot-stuffer; feed() bytes, then finish()."""

    __slots__ = ("_at_line_start", "_pending_cr", "mailsize")

    def __init__(self) -> None:
        self.mailsize = 0  # msmtp's mailsize so far
        self._at_line_start = True
        self._pending_cr = False  # a CR ended the last chunk: an LF may follow

    def feed(self, data: bytes) -> bytes:
        """Encode the next piece of the message; may hold back one trailing CR."""
        if self._pending_cr:
            data = b"\r" + data
            self._pending_cr = False
        if data.endswith(b"\r"):
            data = data[:-1]
            self._pending_cr = True
        return self._encode(data)

    def finish(self) -> bytes:
        """Flush a held-back CR and terminate an unfinished last line with CRLF."""
        tail = b"\n" if self._pending_cr else b""
        self._pending_cr = False
        if not tail and not self._at_line_start:
            tail = b"\n"
        return self._encode(tail)

    def _encode(self, data: bytes) -> bytes:
        if not data:
            return b""
        # every line end becomes one LF: CRLF first, then lone CRs (the deliberate part)
        lines = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        self.mailsize += len(lines)
        # RFC 5321 §4.5.2 transparency: a sentinel LF marks the chunk's first byte as a line start
        if self._at_line_start:
            stuffed = (b"\n" + lines).replace(b"\n.", b"\n..")[1:]
        else:
            stuffed = lines.replace(b"\n.", b"\n..")
        self._at_line_start = lines.endswith(b"\n")
        return stuffed.replace(b"\n", b"\r\n")


def data_chunks(
    source: BinaryIO | Iterable[bytes],
    chunk_size: int = CHUNK_SIZE,
    *,
    encoder: WireEncoder | None = None,
) -> Iterator[bytes]:
    """Yield *source* in DATA wire format, in chunks of about *chunk_size* bytes.

    *source* is a binary file (read *chunk_size* at a time) or an iterable of
    bytes of any sizes (small pieces are coalesced).  Pass an *encoder* to read
    its ``mailsize`` afterwards.  Memory use is bounded by a few chunks.
    """
    encoder = encoder if encoder is not None else WireEncoder()
    pending: list[bytes] = []
    size = 0
    for piece in _pieces(source, chunk_size):
        out = encoder.feed(piece)
        pending.append(out)
        size += len(out)
        if size >= chunk_size:
            yield b"".join(pending)
            pending, size = [], 0
    pending.append(encoder.finish())
    tail = b"".join(pending)
    if tail:
        yield tail


def mail_size(source: BinaryIO | Iterable[bytes]) -> int:
    """msmtp's ``mailsize`` of *source*, without keeping the encoded bytes."""
    encoder = WireEncoder()
    for _ in data_chunks(source, encoder=encoder):
        pass
    return encoder.mailsize


def _pieces(source: BinaryIO | Iterable[bytes], chunk_size: int) -> Iterator[bytes]:
    read = getattr(source, "read", None)
    if read is None:
        for piece in source:
            # split oversized pieces so memory stays a few chunks
            for start in range(0, len(piece), chunk_size):
                yield piece[start:start + chunk_size]
        return
    while piece := read(chunk_size):
        yield piece
