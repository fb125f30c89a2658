"""Taking a mail in, once, as msmtp's sendmail mode does: the one intake of enqueue and ``--send-now``.

Both consume :func:`take_in` and :meth:`Intake.prepare`, so they fail alike and
in msmtp 1.8.23's order (verified against the binary), and every header and
address of the mail is read and parsed once:

1. the header block is read from stdin (the body stays unread in the stream);
   ``--read-envelope-from`` (:func:`read_envelope_from`, also ``--pretend``'s)
   takes the first From: address (msmtp stores it as the command-line ``from``
   even when there is none, which then fails as ``envelope-from address is
   missing``, 78) and notes it under ``--debug``;
2. the recipients: command line, then ``-t`` headers; none is ``no recipients
   found`` (64) — before any configuration file is read;
3. the configuration is loaded and the account chosen and finished;
4. :meth:`Intake.prepare`: envelope-from, aliases, added and removed headers
   (:func:`~smtpq.sender.message.compose.prepare_message`) — ``--send-now``
   prints its ``--debug`` listing between 3 and 4, as msmtp.
"""

from __future__ import annotations

from smtpq.sender.message.compose import prepare_message
from smtpq.sender.message.headers import read_header_block, tracked
from smtpq.sender.message.recipients import collect_recipients, require_recipients
from smtpq.sender.message.rewrite import from_header_address
from smtpq.sender.modes.setup import resolve

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (import cost)
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import BinaryIO, TextIO

    from smtpq.sender.config.settings import Account
    from smtpq.sender.message.compose import PreparedMessage
    from smtpq.sender.message.headers import HeaderBlock
    from smtpq.sender.options import CommandLine


class Intake:
    """A mail taken in: its account, header block and recipients (the body is still in stdin)."""

    __slots__ = ("account", "body", "from_arg", "full_name", "has_from", "headers", "recipients")

    def __init__(self, account: Account, headers: HeaderBlock, recipients: list[str], *,
                 body: BinaryIO, cmd: CommandLine, has_from: bool | None) -> None:
        self.account = account
        self.headers = headers
        self.recipients = recipients  # command line then -t, before aliases
        self.body = body  # positioned at the first body byte
        self.from_arg = cmd.envelope_from  # -f, or the From: address read
        self.full_name = cmd.full_name
        self.has_from = has_from  # whether a From: carries an address; None: not parsed yet

    def prepare(self, now: float | None = None) -> PreparedMessage:
        """Step 4: the envelope and the rewritten headers; Date/Message-ID stamped at *now*."""
        return prepare_message(self.body, self.account, self.headers, self.recipients,
                               envelope_from_arg=self.from_arg, full_name=self.full_name,
                               now=now, has_from=self.has_from)

    def close(self) -> None:
        self.headers.close()


def take_in(cmd: CommandLine, *, env: Mapping[str, str], stdin: BinaryIO,
            notes: TextIO | None = None, run_passwordeval: bool = True,
            keep: Callable[[str], bool] = tracked) -> Intake:
    """Steps 1–3 of the module docstring; the caller closes the :class:`Intake`."""
    headers = read_header_block(stdin, keep=keep)
    try:
        has_from = read_envelope_from(cmd, headers, notes) if cmd.read_envelope_from else None
        recipients = require_recipients(collect_recipients(
            cmd.recipients, headers, read_recipients=cmd.read_recipients))
        account = resolve(cmd, env=env, out=notes, run_passwordeval=run_passwordeval)
    except BaseException:
        headers.close()
        raise
    return Intake(account, headers, recipients, body=stdin, cmd=cmd, has_from=has_from)


def read_envelope_from(cmd: CommandLine, headers: HeaderBlock, notes: TextIO | None) -> bool:
    """``--read-envelope-from``: the first From: address becomes the command-line ``from``.

    msmtp stores it even when there is none, and prints it (``(null)`` then)
    under ``--pretend``/``--debug`` (*notes*).  Returns whether a From: field
    carries an address, which the header rewrite asks again otherwise.
    """
    address = from_header_address(headers)
    if notes is not None:
        notes.write(f"envelope from address extracted from mail: {address or '(null)'}\n")
        notes.flush()
    cmd.set_envelope_from(address)
    return address is not None


def keep_header(name: str) -> bool:
    """Header fields the queue keeps parsed: those msmtp's rules use, plus Subject for listings."""
    return tracked(name) or name.lower() == "subject"
