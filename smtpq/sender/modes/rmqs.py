"""``--rmqs=host|@domain|#queue``: ask the server to start its queue with ETRN (RFC 1985).

msmtp's ``msmtp_rmqs`` (reference §3.3): connect, TLS, greeting, EHLO,
STARTTLS; without the ETRN capability ``the server does not support Remote
Message Queue Starting`` (69, after QUIT); then AUTH when ``auth`` is on —
after the ETRN check, as msmtp; then ``ETRN ARG``: 250–253 print nothing and
exit 0, 458/459 ``the server is unable to fulfill the request`` (69), 500/501
``invalid argument for Remote Message Queue Starting`` (65), anything else
``command ETRN failed`` (76).  Errors are reported as ``--serverinfo`` does.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import TextIO

from smtpq.sender.delivery.sessions import MsmtpSession
from smtpq.sender.errors import CapabilityMissing, DeliveryError
from smtpq.sender.options import CommandLine
from smtpq.sender.protocol.session import Session


def run_rmqs(cmd: CommandLine, *, env: Mapping[str, str], prog: str,
             out: TextIO | None = None) -> int:
    """Send ``ETRN`` for ``cmd.rmqs``; return 0 or raise msmtp's error."""
    from smtpq.sender.modes.serverinfo import plain_error, resolve_for_session
    from smtpq.sender.protocol.transcript import debug_printer

    out = out if out is not None else sys.stdout
    account = resolve_for_session(cmd, env=env, out=out)
    transcript = debug_printer(out) if cmd.debug else None
    try:
        session = MsmtpSession.open(account, transcript=transcript)
    except DeliveryError as error:
        raise plain_error(error) from None
    try:
        _start_queue(session, cmd.rmqs or "")
    except CapabilityMissing as error:
        session.quit()  # msmtp: msmtp_endsession(&srv, 1)
        raise plain_error(error) from None
    except DeliveryError as error:
        session.close()
        raise plain_error(error) from None
    session.quit()
    return 0


def _start_queue(session: Session, argument: str) -> None:
    if not session.capabilities.etrn:
        raise CapabilityMissing("the server does not support Remote Message Queue Starting")
    if session.account.auth is not None:
        if not session.capabilities.auth:
            raise CapabilityMissing("the server does not support authentication")
        from smtpq.sender.auth.authenticate import authenticate

        authenticate(session, session.account)
    session.etrn(argument)
