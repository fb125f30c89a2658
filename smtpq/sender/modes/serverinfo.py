"""``-S``/``--serverinfo``: msmtp's server description on stdout (reference §3.2).

As msmtp's ``msmtp_serverinfo``: ``too many arguments`` (64) with recipients,
before any file is read; then the account (``--debug`` prints msmtp's notes
and the configuration without the sendmail part); then connect, TLS,
greeting, EHLO and STARTTLS; QUIT; and only then the description, so under
``--debug`` the transcript (QUIT included) comes first.  Failures print the
error and its ``server message:`` lines — no ``could not send mail`` line,
no log line — and exit with msmtp's code.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, TextIO

from smtpq.sender.errors import DeliveryError, SmtpqError
from smtpq.sender.options import CommandLine

if TYPE_CHECKING:
    from smtpq.sender.config.settings import Account
    from smtpq.sender.protocol.session import Session
    from smtpq.sender.protocol.transcript import Transcript


def run_serverinfo(cmd: CommandLine, *, env: Mapping[str, str], prog: str,
                   out: TextIO | None = None) -> int:
    """Describe the account's server; return 0 or raise msmtp's error."""
    from smtpq.sender.delivery.sessions import MsmtpSession
    from smtpq.sender.protocol.describe import describe_server

    out = out if out is not None else sys.stdout
    account = resolve_for_session(cmd, env=env, out=out)
    try:
        session = MsmtpSession.open(account, transcript=_transcript(cmd, out))
    except DeliveryError as error:
        raise plain_error(error) from None
    session.quit()
    out.write(describe_server(_as_msmtp_sees_it(session)))
    out.flush()
    return 0


def _as_msmtp_sees_it(session: Session) -> Session:
    """msmtp lists STARTTLS whenever it used it, though the EHLO after it (RFC 3207 §4.2)
    no longer announces it (``msmtp_serverinfo``: ``tls && !tls_nostarttls``)."""
    caps = session.capabilities
    if session.account.tls and session.account.tls_starttls and not caps.starttls:
        session.capabilities = caps.replace(keywords={**caps.keywords, "STARTTLS": ""})
    return session


def resolve_for_session(cmd: CommandLine, *, env: Mapping[str, str], out: TextIO) -> Account:
    """msmtp's steps before a non-sendmail session: operand check, account, ``--debug`` output."""
    from smtpq.sender.message.recipients import command_line_recipients
    from smtpq.sender.modes.pretend import configuration_text
    from smtpq.sender.modes.setup import resolve

    cmd.check_no_operands(command_line_recipients(cmd.recipients))
    account = resolve(cmd, env=env, out=out if cmd.debug else None)
    if cmd.debug:
        out.write(configuration_text(cmd, account))
        out.flush()
    return account


def _transcript(cmd: CommandLine, out: TextIO) -> Transcript | None:
    if not cmd.debug:
        return None
    from smtpq.sender.protocol.transcript import debug_printer

    return debug_printer(out)


def plain_error(error: DeliveryError) -> SmtpqError:
    """msmtp's report outside sendmail mode: the error, then its ``server message:`` lines."""
    from smtpq.sender.log.line import sanitize

    details = [f"server message: {sanitize(line)}" for line in error.smtp_message]
    return SmtpqError(sanitize(error.message), exit_code=error.exit_code, details=details)
