"""What every msmtp mode does first: read the From header if asked, load files, choose the account.

The order is msmtp 1.8.23's ``main``: with ``--read-envelope-from`` the header
block is read from stdin before anything else, then the configuration files are
loaded, then the account is chosen, overridden and finished.  Under
``--pretend``/``--debug`` msmtp prints its informational lines on stdout as they
happen, so they are printed even when a later step fails.
"""

from __future__ import annotations

import os

from smtpq.sender.config.choose import resolve_account
from smtpq.sender.config.files import load_config

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (import cost)
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import BinaryIO, TextIO

    from smtpq.sender.config.files import LoadedConfig
    from smtpq.sender.config.settings import Account
    from smtpq.sender.message.headers import HeaderBlock
    from smtpq.sender.options import CommandLine


class Resolved:
    """The finished account plus what was read to choose it."""

    __slots__ = ("account", "config", "headers")

    def __init__(self, account: Account, config: LoadedConfig | None,
                 headers: HeaderBlock | None) -> None:
        self.account = account
        self.config = config
        self.headers = headers  # the mail's header block, when it had to be read first


def resolve(cmd: CommandLine, *, env: Mapping[str, str], stdin: BinaryIO,
            out: TextIO | None = None, run_passwordeval: bool = True) -> Resolved:
    """Choose and finish the account for *cmd*; print msmtp's notes to *out* if given."""
    notes: list[str] = []
    try:
        headers = _read_envelope_from(cmd, stdin, notes)
        config = None
        if cmd.host is None:
            config = load_config(cmd.config_file, env=env, notes=notes)
        resolution = resolve_account(
            config, account_name=cmd.account_name, host=cmd.host,
            envelope_from=cmd.envelope_from, overrides=cmd.overrides, env=env,
            sendmail=cmd.sendmail, pretend=cmd.pretend, notes=notes,
            password_command=_passwordeval if run_passwordeval else None)
        return Resolved(resolution.account, config, headers)
    finally:
        if out is not None:
            out.write("".join(f"{line}\n" for line in notes))
            out.flush()


def _read_envelope_from(cmd: CommandLine, stdin: BinaryIO, notes: list[str]) -> HeaderBlock | None:
    """``--read-envelope-from``: take the first From: address as ``-f`` (msmtp reads it first)."""
    if not (cmd.read_envelope_from and cmd.sendmail):
        return None
    from smtpq.sender.message.headers import read_header_block
    from smtpq.sender.message.rewrite import from_header_address

    headers = read_header_block(stdin, keep=keep_header)
    address = from_header_address(headers)
    notes.append(f"envelope from address extracted from mail: {address or '(null)'}")
    if address is not None:
        cmd.set_envelope_from(address)
    return headers


def keep_header(name: str) -> bool:
    """Header fields to keep parsed: those msmtp's rules use, plus Subject for queue listings."""
    from smtpq.sender.message.headers import tracked

    return tracked(name) or name.lower() == "subject"


def _passwordeval(command: str) -> str:
    from smtpq.sender.auth.passwords import run_passwordeval

    return run_passwordeval(command)


def environment() -> Mapping[str, str]:
    """The process environment (a seam for tests)."""
    return os.environ
