"""Putting message handling together: from stdin and an account to a :class:`PreparedMessage`.

The steps and their order are msmtp's (``main`` in src/msmtp.c), so the same
input fails with the same error first:

1. read the header block (the body stays unread in the stream);
2. ``--read-envelope-from``: the first ``From:`` address;
3. recipients: command line, then ``-t`` headers; none is ``no recipients found`` (64);
4. envelope-from by precedence; none is ``envelope-from address is missing`` (78);
5. aliases (78 on errors);
6. header rewrite, stamping Date and Message-ID at *now*.

Account choice happens between 2 and 4 and belongs to the configuration code:
call :func:`~smtpq.sender.message.headers.read_header_block` and
:func:`~smtpq.sender.message.rewrite.from_header_address` first if the account
depends on the From header, then pass the block in as *headers*.

A prepared message serialises as the rewritten header block followed by the
untouched body (:meth:`PreparedMessage.iter_bytes`, :meth:`~PreparedMessage.write_to`),
streaming the body; the queue stores that, and the sender later streams
:func:`~smtpq.sender.message.wire.data_chunks` over the stored file.
"""

from __future__ import annotations

from smtpq.sender.errors import UsageError
from smtpq.sender.message.envelope import choose_envelope_from
from smtpq.sender.message.headers import read_header_block
from smtpq.sender.message.recipients import collect_recipients, require_recipients
from smtpq.sender.message.rewrite import from_header_address, plan_rewrite

#: Bytes per piece of :meth:`PreparedMessage.iter_bytes` (``wire.CHUNK_SIZE``; the
#: enqueue path does not import ``wire``, which only sending needs).
CHUNK_SIZE = 64 * 1024

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (import cost)
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
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
    *,
    recipients: Iterable[str] = (),
    read_recipients: bool = False,
    read_envelope_from: bool = False,
    envelope_from_arg: str | None = None,
    full_name: str | None = None,
    now: float | None = None,
    headers: HeaderBlock | None = None,
    require: bool = True,
) -> PreparedMessage:
    """Read the mail's headers from *stream* and apply msmtp's sendmail-mode rules.

    *recipients* are the command-line arguments, *envelope_from_arg* the ``-f``
    value, *full_name* the ``-F`` value, *now* the time Date/Message-ID are
    stamped with.  *require* off (``--pretend``) allows an empty recipient list.
    """
    if read_envelope_from and envelope_from_arg is not None:
        raise UsageError("cannot use both --from and --read-envelope-from")
    if headers is None:
        headers = read_header_block(stream)
    from_arg = from_header_address(headers) if read_envelope_from else envelope_from_arg
    rcpts = collect_recipients(recipients, headers, read_recipients=read_recipients)
    if require:
        require_recipients(rcpts)
    envelope_from = _envelope_from(account, from_arg)
    if account.aliases:  # expand_aliases without a file changes nothing
        from smtpq.sender.message.aliases import expand_aliases

        rcpts = expand_aliases(rcpts, account.aliases)
    if require:
        require_recipients(rcpts)
    rewrite = _rewrite(headers, account, envelope_from, full_name, now)
    return PreparedMessage(envelope_from, rcpts, headers, rewrite, stream)


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
    now: float | None,
) -> Rewrite:
    return plan_rewrite(
        headers,
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
