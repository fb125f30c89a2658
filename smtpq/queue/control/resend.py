"""What ``smtpq show ID --raw --with-bcc`` adds so the stored mail can be sent again as is.

The queue keeps a mail's envelope recipients apart from its header: recipients
given on the command line, and Bcc recipients (whose header msmtp removes
before sending, and so does the queue's ``-t`` intake), appear in no header.
``smtpq show N --raw | smtpq-sendmail -t`` would lose them.  So ``--with-bcc``
puts one ``Bcc:`` field in front of the stored mail naming every envelope
recipient the ``-t`` rules (``smtpq.sender.message.recipients``) would not
find in the header; ``smtpq-sendmail -t`` then reaches every original
recipient and, as msmtp, removes that Bcc field before sending.

When the mail has a ``Resent-*`` block, ``-t`` reads only the first such
block (RFC 5322 §3.6.6), so the added field is a ``Resent-Bcc:``: joining the
block when it starts the header, else starting a new first block that then
names every envelope recipient.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import BinaryIO

from smtpq.sender.errors import SmtpqError
from smtpq.sender.message.headers import read_header_block
from smtpq.sender.message.recipients import header_recipients, resent_block

#: Bytes of the first line read to learn the mail's line ending.
_LINE = 1000


class _Rewound:
    """*stream* with *head* (already read from it) in front again, for ``readline``."""

    def __init__(self, head: bytes, stream: BinaryIO) -> None:
        self._head, self._stream = head, stream

    def readline(self, limit: int = -1) -> bytes:
        if self._head:
            head, self._head = self._head, b""
            return head
        return self._stream.readline(limit)


def bcc_field(stream: BinaryIO, recipients: Sequence[str]) -> bytes:
    """The field to put before the mail in *stream* so ``-t`` finds every one of
    *recipients* (b"" when the header already names them all)."""
    first_line = stream.readline(_LINE)
    headers = read_header_block(_Rewound(first_line, stream))
    try:
        resent = resent_block(headers)
        try:
            listed = header_recipients(headers)
        except SmtpqError:  # an unparsable address field: name every recipient ourselves
            listed = []
    finally:
        headers.close()
    if resent and resent[0].index != 0:
        listed = []  # our field starts the first Resent- block: -t reads only it
    seen = {address.lower() for address in listed}
    missing = [address for address in dict.fromkeys(recipients) if address.lower() not in seen]
    if not missing:
        return b""
    name = "Resent-Bcc" if resent else "Bcc"
    end = b"\r\n" if first_line.endswith(b"\r\n") else b"\n"
    return f"{name}: {', '.join(missing)}".encode() + end
