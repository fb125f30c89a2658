"""Taking a mail in as msmtp's sendmail mode does, up to the point of sending.

Shared by ``--send-now`` and the queue's enqueue, so both fail alike and in
msmtp 1.8.23's order (verified against the binary):

1. the header block is read from stdin (the body stays unread in the stream);
   ``--read-envelope-from`` takes the first From: address (msmtp stores it as
   the command-line ``from`` even when there is none, which then fails as
   ``envelope-from address is missing``, 78) and notes it under ``--debug``;
2. no recipient from the command line and ``-t`` is ``no recipients found``
   (64) — before any configuration file is read;
3. the configuration is loaded and the account chosen and finished.
"""

from __future__ import annotations

from smtpq.sender.message.headers import HeaderBlock, read_header_block, tracked
from smtpq.sender.message.recipients import collect_recipients, require_recipients
from smtpq.sender.modes.setup import resolve

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (import cost)
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import BinaryIO, TextIO

    from smtpq.sender.config.settings import Account
    from smtpq.sender.options import CommandLine


class Intake:
    """The finished account and the mail's header block (the body is still in stdin)."""

    __slots__ = ("account", "headers")

    def __init__(self, account: Account, headers: HeaderBlock) -> None:
        self.account = account
        self.headers = headers


def take_in(cmd: CommandLine, *, env: Mapping[str, str], stdin: BinaryIO,
            notes: TextIO | None = None, run_passwordeval: bool = True,
            keep: Callable[[str], bool] = tracked) -> Intake:
    """Steps 1–3 of the module docstring; the caller closes ``Intake.headers``."""
    headers = read_header_block(stdin, keep=keep)
    try:
        if cmd.read_envelope_from:
            _take_envelope_from(cmd, headers, notes)
        require_recipients(collect_recipients(cmd.recipients, headers,
                                              read_recipients=cmd.read_recipients))
        # The From: header is already taken: resolve must not read stdin again.
        resolved = resolve(cmd.replace(read_envelope_from=False), env=env,
                           stdin=stdin, out=notes, run_passwordeval=run_passwordeval)
    except BaseException:
        headers.close()
        raise
    return Intake(resolved.account, headers)


def _take_envelope_from(cmd: CommandLine, headers: HeaderBlock, notes: TextIO | None) -> None:
    """msmtp stores the From: address as the command-line ``from`` — even when there is none."""
    from smtpq.sender.message.rewrite import from_header_address

    address = from_header_address(headers)
    if notes is not None:
        notes.write(f"envelope from address extracted from mail: {address or '(null)'}\n")
        notes.flush()
    cmd.envelope_from = address
    cmd.overrides.from_ = address
    cmd.overrides.explicit.add("from_")
