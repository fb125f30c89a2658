"""Reporting an outcome as msmtp does: the log file/syslog, and the lines on stderr.

msmtp's ``main`` (sendmail mode), in this order:

1. on failure, print the error, one ``server message: LINE`` per reply line,
   then ``could not send mail (account NAME from FILE)`` — or ``could not send
   mail`` for an account without a file (``--host``, ``$SMTPSERVER``).  For an
   LMTP mail refused after DATA instead, per refusing recipient
   ``the server refuses to send the mail to ADDR`` and its ``LMTP server
   message: LINE`` lines, then ``could not send mail to all recipients …``;
2. then, if ``logfile`` or ``syslog`` is set, the log line; a log failure
   prints ``cannot log to FILE: REASON`` and ``log info was: LINE`` and does
   not change the exit code.

Everything printed goes through the error boundary (``smtpq.cli.boundary``):
a failure is a ``SendFailed`` (``smtpq.sender.errors``) whose details carry the extra lines, and
log trouble after a success is a ``LogFailed`` with exit code 0.
Error texts are sanitized (control characters become ``?``) as msmtp's
``sanitize_string`` does.
"""

from __future__ import annotations

from smtpq.sender.errors import LogFailed, SendFailed

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (import cost)
if TYPE_CHECKING:
    from smtpq.sender.config.settings import Account
    from smtpq.sender.delivery.outcome import DeliveryOutcome

# The log writers, the failure texts and the hints (whose TLS part would load
# ``ssl``) are imported where they are needed: a successful send without a log
# needs none of them (docs/performance.md, direct send).


def write_log(account: Account, outcome: DeliveryOutcome, *,
              now: float | None = None) -> tuple[str, ...]:
    """Log *outcome* to the account's ``logfile`` and ``syslog``; msmtp's failure lines."""
    messages: tuple[str, ...] = ()
    if account.logfile:
        from smtpq.sender.log.logfile import log_to_file

        messages = log_to_file(account.logfile, outcome.log_line,
                               time_format=account.logfile_time_format, now=now)
    if account.syslog:
        from smtpq.sender.log.syslogger import log_to_syslog

        log_to_syslog(account.syslog, outcome.log_line, error=not outcome.ok)
    return messages


def account_suffix(account: Account) -> str:
    """`` (account NAME from FILE)`` for a file account, else nothing."""
    if account.name and account.conffile:
        return f" (account {account.name} from {account.conffile})"
    return ""


def failure_lines(account: Account, outcome: DeliveryOutcome) -> list[str]:
    """msmtp's stderr lines (without program prefix) for a failed *outcome*."""
    from smtpq.sender.config.diagnostics import hint_lines
    from smtpq.sender.config.settings import Protocol
    from smtpq.sender.delivery.outcome import LMTP_PARTIAL
    from smtpq.sender.log.line import sanitize
    from smtpq.sender.tls.hints import failure_hints

    if account.protocol == Protocol.LMTP and outcome.errormsg == LMTP_PARTIAL:
        return _lmtp_lines(outcome) + [
            "could not send mail to all recipients" + account_suffix(account)]
    lines = [sanitize(outcome.errormsg or "")]
    lines += [f"server message: {sanitize(line)}" for line in outcome.smtp_message]
    lines.append("could not send mail" + account_suffix(account))
    # What to change, for msmtp's common traps (only on a terminal: scripts see msmtp's lines).
    return lines + list(hint_lines(*failure_hints(account, outcome.errormsg)))


def _lmtp_lines(outcome: DeliveryOutcome) -> list[str]:
    """RFC 2033 §4.2: one verdict per recipient; msmtp reports each refusal."""
    from smtpq.sender.delivery.outcome import RecipientStatus
    from smtpq.sender.log.line import sanitize

    lines: list[str] = []
    for recipient in outcome.recipients:
        if recipient.state is RecipientStatus.SENT:
            continue
        lines.append(f"the server refuses to send the mail to {recipient.address}")
        lines += [f"LMTP server message: {sanitize(line)}" for line in recipient.smtp_message]
    return lines


def report(account: Account, outcome: DeliveryOutcome, *, now: float | None = None) -> None:
    """Log *outcome*, then raise msmtp's error for it (or :class:`LogFailed`); silent on success."""
    log_messages = write_log(account, outcome, now=now)
    if not outcome.ok:
        raise SendFailed(failure_lines(account, outcome) + list(log_messages),
                         exit_code=outcome.exit_code)
    if log_messages:
        raise LogFailed(log_messages[0], details=log_messages[1:])
