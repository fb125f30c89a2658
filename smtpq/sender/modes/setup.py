"""What every msmtp mode does before its own work: load the configuration, choose the account.

The order is msmtp 1.8.23's ``main``: with ``--read-envelope-from`` the header
block is read from stdin before anything else
(:func:`smtpq.sender.modes.intake.read_envelope_from`), then the configuration
files are loaded, then the account is chosen, overridden and finished.  Under
``--pretend``/``--debug`` msmtp prints its informational lines on stdout as
they happen, so they are printed even when a later step fails.
"""

from __future__ import annotations

from smtpq.sender.config.choose import resolve_account
from smtpq.sender.config.files import load_config

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (import cost)
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import TextIO

    from smtpq.sender.config.settings import Account
    from smtpq.sender.options import CommandLine


def resolve(cmd: CommandLine, *, env: Mapping[str, str], out: TextIO | None = None,
            run_passwordeval: bool = True) -> Account:
    """Choose and finish the account for *cmd*; print msmtp's notes to *out* if given."""
    notes: list[str] = []
    try:
        config = None
        if cmd.host is None:
            config = load_config(cmd.config_file, env=env, notes=notes)
        resolution = resolve_account(
            config, account_name=cmd.account_name, host=cmd.host,
            envelope_from=cmd.envelope_from, overrides=cmd.overrides, env=env,
            sendmail=cmd.sendmail, pretend=cmd.pretend, notes=notes,
            password_command=_passwordeval if run_passwordeval else None)
        return resolution.account
    finally:
        if out is not None:
            out.write("".join(f"{line}\n" for line in notes))
            out.flush()


def _passwordeval(command: str) -> str:
    from smtpq.sender.auth.passwords import run_passwordeval

    return run_passwordeval(command)

