"""``--pretend`` (and the configuration part of ``--debug``): msmtp's exact listing on stdout.

msmtp 1.8.23 forgets ``set_msgid_header`` in this listing; smtpq shows it
(after ``set_date_header``), the only line msmtp does not print.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import BinaryIO, TextIO

from smtpq.sender.config.settings import Account
from smtpq.sender.config.show import pretend_lines
from smtpq.sender.message.headers import read_header_block
from smtpq.sender.modes.intake import read_envelope_from
from smtpq.sender.modes.setup import resolve
from smtpq.sender.options import CommandLine


def run_pretend(cmd: CommandLine, *, env: Mapping[str, str], stdin: BinaryIO,
                out: TextIO | None = None) -> int:
    """Resolve the account as for sending, print it (password as ``*``), exit 0.

    Of the mail, only ``--read-envelope-from`` reads anything: the header block.
    """
    out = out or sys.stdout
    if cmd.read_envelope_from and cmd.sendmail:
        headers = read_header_block(stdin)
        try:
            read_envelope_from(cmd, headers, out)
        finally:
            headers.close()
    out.write(configuration_text(cmd, resolve(cmd, env=env, out=out)))
    return 0


def configuration_text(cmd: CommandLine, account: Account) -> str:
    """The ``key = value`` block and msmtp's closing line for the mode."""
    lines = pretend_lines(account, sendmail=cmd.sendmail,
                          read_envelope_from=cmd.read_envelope_from)
    if cmd.rmqs is not None:
        lines.append(f"RMQS argument = {cmd.rmqs}")
    elif cmd.sendmail:
        lines.append(_recipients_line(cmd))
    return "".join(f"{line}\n" for line in lines)


def _recipients_line(cmd: CommandLine) -> str:
    if cmd.read_recipients:
        return "reading recipients from the command line and the mail"
    return "reading recipients from the command line"
