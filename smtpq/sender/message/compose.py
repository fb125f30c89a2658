"""From a mail taken in and its account to a :class:`PreparedMessage`: msmtp's steps after account choice.

The mail is taken in once, before the account is chosen
(:mod:`smtpq.sender.modes.intake`: header block, ``--read-envelope-from``,
recipients); what depends on the account follows here, in msmtp's order
(``main`` in src/msmtp.c), so the same input fails with the same error first:

1. envelope-from by precedence; none is ``envelope-from address is missing`` (78);
2. aliases (78 on errors); none left is ``no recipients found`` (64);
3. header rewrite, stamping Date and Message-ID at *now*.

A prepared message serialises as the rewritten header block followed by the
untouched body (:meth:`PreparedMessage.iter_bytes`, :meth:`~PreparedMessage.write_to`),
streaming the body; the queue stores that, and the sender later streams
:func:`~smtpq.sender.message.wire.data_chunks` over the stored file.
"""

from __future__ import annotations

from smtpq.sender.message.envelope import choose_envelope_from
from smtpq.sender.message.recipients import require_recipients
from smtpq.sender.message.rewrite import plan_rewrite

#: Bytes per piece of :meth:`PreparedMessage.iter_bytes` (``wire.CHUNK_SIZE``; the
#: enqueue path does not import ``wire``, which only sending needs).
CHUNK_SIZE = 64 * 1024

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (import cost)
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import BinaryIO, Protocol

    from smtpq.sender.config.settings import Account
    from smtpq.sender.message.headers import HeaderBlock
    from smtpq.sender.message.rewrite import Rewrite
    from smtpq.sender.message.wire import WireEncoder

    class Writable(Protocol):
        def write(self, data: bytes, /) -> object: ...


class PreparedMessage:
    """A mail ready to queue or send: envelope, rewritten headers, and the unread body."""

    def __init__(
        self,
        envelope_from: str,
        recipients: list[str],
        headers: HeaderBlock,
        rewrite: Rewrite,
        body: BinaryIO,
    ) -> None:
        self.envelope_from = envelope_from  # "" is the null sender
        self.recipients = recipients  # after aliases, in order, duplicates kept
        self.headers = headers
        self.rewrite = rewrite
        self.body = body  # positioned at the first body byte; read once

    def header_bytes(self) -> bytes:
        """The outgoing header block, separator included (held in memory: headers only)."""
        return b"".join(self._header_pieces())

    def iter_bytes(self, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        """Headers then body, in chunks of about *chunk_size*; consumes the body."""
        pending: list[bytes] = []
        size = 0
        for piece in self._header_pieces():
            pending.append(piece)
            size += len(piece)
            if size >= chunk_size:
                yield b"".join(pending)
                pending, size = [], 0
        if pending:
            yield b"".join(pending)
        while piece := self.body.read(chunk_size):
            yield piece

    def write_to(self, out: Writable, chunk_size: int = CHUNK_SIZE) -> int:
        """Write headers and body to *out*; return the number of bytes written."""
        written = 0
        for chunk in self.iter_bytes(chunk_size):
            out.write(chunk)
            written += len(chunk)
        return written

    def wire_chunks(self, encoder: WireEncoder | None = None) -> Iterator[bytes]:
        """The DATA bytes for direct sending (without the final ``.`` CRLF)."""
        from smtpq.sender.message.wire import data_chunks

        return data_chunks(self.iter_bytes(), encoder=encoder)

    def close(self) -> None:
        self.headers.close()

    def __enter__(self) -> PreparedMessage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _header_pieces(self) -> Iterator[bytes]:
        yield self.rewrite.added
        yield from self.headers.filtered(self.rewrite.drops)
        yield self.headers.separator


def prepare_message(
    stream: BinaryIO,
    account: Account,
    headers: HeaderBlock,
    recipients: list[str],
    *,
    envelope_from_arg: str | None = None,
    full_name: str | None = None,
    now: float | None = None,
    has_from: bool | None = None,
) -> PreparedMessage:
    """Apply msmtp's sendmail-mode rules to a mail taken in (*headers* read from *stream*).

    *recipients* are the addresses collected from the command line and ``-t``,
    *envelope_from_arg* the ``-f`` value (or the From: address
    ``--read-envelope-from`` found), *full_name* the ``-F`` value, *now* the
    time Date/Message-ID are stamped with, *has_from* whether a From: field
    carries an address, when the intake already parsed them.
    """
    envelope_from = _envelope_from(account, envelope_from_arg)
    if account.aliases:  # expand_aliases without a file changes nothing
        from smtpq.sender.message.aliases import expand_aliases

        recipients = require_recipients(expand_aliases(recipients, account.aliases))
    rewrite = _rewrite(headers, account, envelope_from, full_name, now, has_from)
    return PreparedMessage(envelope_from, recipients, headers, rewrite, stream)


def _envelope_from(account: Account, from_arg: str | None) -> str:
    return choose_envelope_from(
        account_from=account.from_,
        from_arg=from_arg,
        allow_from_override=account.allow_from_override,
        auto_from=account.auto_from,
        maildomain=account.maildomain,
    )


def _rewrite(
    headers: HeaderBlock, account: Account, envelope_from: str, full_name: str | None,
    now: float | None, has_from: bool | None,
) -> Rewrite:
    return plan_rewrite(
        headers,
        has_from=has_from,
        envelope_from=envelope_from,
        full_name=full_name,
        set_from_header=_policy(account.set_from_header),
        set_date_header=_policy(account.set_date_header),
        set_msgid_header=_policy(account.set_msgid_header),
        remove_bcc_headers=account.remove_bcc_headers,
        undisclosed_recipients=account.undisclosed_recipients,
        now=now,
    )


def _policy(value: object) -> str:
    """A ``HeaderPolicy`` member or its string value, as ``"auto"``/``"on"``/``"off"``."""
    return str(getattr(value, "value", value))
