"""What one delivery attempt means for a queued message: per-recipient results and a decision.

The queue does better than msmtp's whole-mail rule (RFC 5321 §3.3: each RCPT
has its own reply): a recipient that took the mail is done, one refused with
5xx fails alone, one refused with 4xx is retried alone later.  Temporary versus
permanent comes from the SMTP reply class, never from msmtp's exit code.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from smtpq.queue.flush.policy import Outcome, classify
from smtpq.queue.records import AttemptRecord, Recipient, RecipientResult
from smtpq.sender.delivery.outcome import DeliveryOutcome, RecipientStatus


@dataclasses.dataclass(frozen=True)
class Verdict:
    """The message's outcome, what to store per recipient, and the history entry."""

    outcome: Outcome
    results: tuple[RecipientResult, ...]
    attempt: AttemptRecord


def judge(outcome: DeliveryOutcome, recipients: tuple[Recipient, ...]) -> Verdict:
    """Turn a courier's *outcome* for a message sent to *recipients* into a ``Verdict``."""
    results = tuple(
        RecipientResult(r.position, o.state, o.smtp_status, _joined(o.smtp_message))
        for r, o in zip(recipients, outcome.recipients, strict=True))
    return Verdict(_message_outcome(outcome, results), results, attempt_record(outcome))


def _message_outcome(outcome: DeliveryOutcome, results: tuple[RecipientResult, ...]) -> Outcome:
    if outcome.failure is not None:
        return classify(failure=outcome.failure)
    statuses = {r.status for r in results}
    if statuses == {RecipientStatus.SENT}:
        return Outcome.DELIVERED
    if RecipientStatus.DEFERRED in statuses:
        return Outcome.TEMPORARY
    if RecipientStatus.PENDING in statuses:
        # Nobody's fate was decided (e.g. MAIL FROM refused): the reply class decides.
        return classify(reply_code=outcome.smtp_status) if outcome.smtp_status else Outcome.TEMPORARY
    return Outcome.PERMANENT  # every recipient is sent or failed, and some failed


def attempt_record(outcome: DeliveryOutcome) -> AttemptRecord:
    """The history entry: times, msmtp's exit code, the reply and msmtp's log line."""
    return AttemptRecord(
        started=_utc(outcome.started), finished=_utc(outcome.finished),
        exit_code=int(outcome.exit_code), smtp_status=outcome.smtp_status,
        smtp_message=_joined(outcome.smtp_message) or outcome.errormsg,
        log_line=outcome.log_line)


def _joined(lines: tuple[str, ...]) -> str | None:
    return "\n".join(lines) if lines else None


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)
