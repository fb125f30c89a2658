"""``--send-now``: msmtp's sendmail mode, exactly — read the mail once, deliver it, report.

The order is msmtp 1.8.23's ``main`` (verified against the binary):

1.–3. :func:`~smtpq.sender.modes.intake.take_in`: headers, ``no recipients
   found`` (64) before any configuration is read, then the account
   (``passwordeval`` runs here); ``--debug`` prints msmtp's notes and then the
   configuration;
4. the mail is prepared (:meth:`~smtpq.sender.modes.intake.Intake.prepare`:
   aliases, added headers) and streamed to the server by the delivery engine
   with msmtp's whole-mail policy, the transcript on stdout under ``--debug``
   with AUTH secrets redacted;
5. failure lines, then the log line (:mod:`smtpq.sender.delivery.report`).

The queue's enqueue takes the mail in the same way and stores it instead of step 4's sending.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (import cost)
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import BinaryIO, TextIO

    from smtpq.sender.delivery.outcome import DeliveryOutcome
    from smtpq.sender.modes.intake import Intake
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
        outcome = _deliver(cmd, intake, out)
    finally:
        intake.close()
    report(intake.account, outcome)
    return 0


def _deliver(cmd: CommandLine, intake: Intake, out: TextIO) -> DeliveryOutcome:
    """Prepare the mail (aliases, added headers: after --debug's listing, as msmtp) and send it."""
    from smtpq.sender.delivery.courier import OutgoingMail, deliver_once

    message = intake.prepare()
    mail = OutgoingMail(message.envelope_from, message.recipients, message.iter_bytes())
    if not cmd.debug:
        return deliver_once(intake.account, mail)
    from smtpq.sender.delivery.sessions import TracingSession
    from smtpq.sender.protocol.transcript import debug_printer

    return deliver_once(intake.account, mail, transcript=debug_printer(out),
                        session_class=TracingSession)
