"""``--send-now``: msmtp's sendmail mode, exactly — read the mail once, deliver it, report.

The order is msmtp 1.8.23's ``main`` (verified against the binary):

1.–3. :func:`~smtpq.sender.modes.intake.take_in`: headers, ``no recipients
   found`` (64) before any configuration is read, then the account
   (``passwordeval`` runs here); ``--debug`` prints msmtp's notes and then the
   configuration;
4. the mail is prepared (aliases, added headers) and streamed to the server
   by the delivery engine with msmtp's whole-mail policy, the transcript on
   stdout under ``--debug`` with AUTH secrets redacted;
5. failure lines, then the log line (:mod:`smtpq.sender.delivery.report`).

The queue's enqueue shares steps 1–3 and stores the mail instead of step 4.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (import cost)
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import BinaryIO, TextIO

    from smtpq.sender.config.settings import Account
    from smtpq.sender.delivery.outcome import DeliveryOutcome
    from smtpq.sender.message.headers import HeaderBlock
    from smtpq.sender.options import CommandLine


def run_send_now(cmd: CommandLine, *, env: Mapping[str, str], stdin: BinaryIO, prog: str,
                 out: TextIO | None = None) -> int:
    """Send the mail on *stdin* as msmtp would; return 0 or raise msmtp's error."""
    from smtpq.sender.delivery.report import report
    from smtpq.sender.modes.intake import take_in

    out = out if out is not None else sys.stdout
    intake = take_in(cmd, env=env, stdin=stdin, notes=out if cmd.debug else None)
    try:
        if cmd.debug:
            from smtpq.sender.modes.pretend import configuration_text

            out.write(configuration_text(cmd, intake.account))
            out.flush()
        outcome = _deliver(cmd, intake.account, intake.headers, stdin, out)
    finally:
        intake.headers.close()
    report(intake.account, outcome)
    return 0


def _deliver(cmd: CommandLine, account: Account, headers: HeaderBlock, stdin: BinaryIO,
             out: TextIO) -> DeliveryOutcome:
    """Prepare the mail (aliases, added headers: after --debug's listing, as msmtp) and send it."""
    from smtpq.sender.delivery.courier import OutgoingMail, deliver_once
    from smtpq.sender.message.compose import prepare_message

    message = prepare_message(
        stdin, account, recipients=cmd.recipients, read_recipients=cmd.read_recipients,
        envelope_from_arg=cmd.envelope_from, full_name=cmd.full_name, headers=headers)
    mail = OutgoingMail(message.envelope_from, message.recipients, message.iter_bytes())
    if not cmd.debug:
        return deliver_once(account, mail)
    from smtpq.sender.delivery.sessions import TracingSession
    from smtpq.sender.protocol.transcript import debug_printer

    return deliver_once(account, mail, transcript=debug_printer(out),
                        session_class=TracingSession)
