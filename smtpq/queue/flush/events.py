"""What happened to each mail in one flush (``FlushEvent``), and the flush's exit status.

The flush worker records one event per mail it decided on (``Worker.record``)
and one per mail that ``tidy`` expired; ``smtpq flush`` prints them like
``msmtp-queue -r`` does (``smtpq.cli.flushing.event_line``) and exits
with the worst of them (``exit_status``): a failure's own code beats a
deferral's EX_TEMPFAIL, which beats success (sysexits(3); Postfix's
``sendmail -q`` and msmtpq likewise report only what went wrong).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from smtpq.queue.flush.policy import Outcome
from smtpq.queue.flush.verdict import Verdict
from smtpq.queue.records import ClaimedMessage, MessageDetail
from smtpq.queue.states import MessageStatus
from smtpq.sender.delivery.outcome import RecipientStatus
from smtpq.sender.sysexits import ExitCode

#: Event kinds, worst last (also the words of the printed lines): the status the mail
#: went to, or the policy's "unreachable" for mail given back to the queue because its
#: server could not be reached.
SENT = MessageStatus.SENT
UNREACHABLE: str = Outcome.UNREACHABLE.value
DEFERRED, FAILED, EXPIRED = MessageStatus.DEFERRED, MessageStatus.FAILED, MessageStatus.EXPIRED
#: Kinds that are final: the mail will not be sent unless someone retries it.
FOR_GOOD = frozenset({FAILED, EXPIRED})
_KIND = {MessageStatus.QUEUED: UNREACHABLE, SENT: SENT, DEFERRED: DEFERRED, FAILED: FAILED,
         EXPIRED: EXPIRED}


@dataclasses.dataclass(frozen=True)
class FlushEvent:
    """One mail's fate in this flush: the recipients it concerns and why."""

    kind: str
    message_id: int
    recipients: tuple[str, ...]
    reason: str
    exit_code: int


def from_verdict(message: ClaimedMessage, verdict: Verdict, status: MessageStatus) -> FlushEvent:
    """The event for *message* judged *verdict* and moved to *status*."""
    kind = _KIND.get(status, DEFERRED)
    addresses = {r.position: r.address for r in message.recipients}
    concerned = [r for r in verdict.results if r.status is not RecipientStatus.SENT]
    if kind == SENT or not concerned:
        concerned = list(verdict.results)
    recipients = tuple(addresses.get(r.position, "") for r in concerned)
    attempt = verdict.attempt
    replies = [r.smtp_message for r in concerned if r.smtp_message] if kind != SENT else []
    reason = replies[0] if replies else attempt.smtp_message or ""
    if kind == EXPIRED:
        reason = f"expired (max_age); last: {reason}" if reason else "expired (max_age)"
    return FlushEvent(kind, message.id, recipients or tuple(addresses.values()),
                      _one_line(reason), _code(kind, attempt.exit_code))


def from_expired(detail: MessageDetail) -> FlushEvent:
    """The event for a message ``tidy`` found past ``max_age``."""
    undelivered = tuple(r.address for r in detail.recipient_states
                        if r.status is not RecipientStatus.SENT) or detail.recipients
    last = detail.last_smtp_message
    reason = f"expired (max_age); last: {last}" if last else "expired (max_age), never delivered"
    return FlushEvent(EXPIRED, detail.id, undelivered, _one_line(reason),
                      int(ExitCode.EX_UNAVAILABLE))


def _one_line(text: str) -> str:
    """A multi-line reply (RFC 5321 §4.2.1) on one line."""
    return " ".join(part.strip() for part in text.splitlines() if part.strip())


def _code(kind: str, attempt_code: int) -> int:
    """The exit status this event asks for: the attempt's own code for a failure."""
    if kind == SENT:
        return int(ExitCode.EX_OK)
    if kind in FOR_GOOD:
        temporary = attempt_code in (ExitCode.EX_OK, ExitCode.EX_TEMPFAIL)
        return int(ExitCode.EX_UNAVAILABLE) if temporary else attempt_code
    return int(ExitCode.EX_TEMPFAIL)


def exit_status(events: Iterable[FlushEvent], *, interrupted: bool = False) -> int:
    """The worst thing that happened: the first final failure's code, else 75 when
    anything was deferred, unreachable or *interrupted*, else 0."""
    worst = int(ExitCode.EX_TEMPFAIL) if interrupted else int(ExitCode.EX_OK)
    for event in events:
        if event.kind in FOR_GOOD:
            return event.exit_code
        if event.kind != SENT:
            worst = int(ExitCode.EX_TEMPFAIL)
    return worst
