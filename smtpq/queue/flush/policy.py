"""Retry policy: what an attempt's outcome means, and when to try again (pure functions).

Everything here is computed from stored data (the deferral count, when the
message was queued) plus the clock and a random source passed in, so a
cron-started flush needs no memory of earlier runs and tests can pin the
jitter.  The schedule lives in the database (peers §3.3): a flush never
sleeps through a back-off.

- Temporary vs permanent comes from the SMTP reply class (RFC 5321 §4.2.1:
  4yz transient, 5yz permanent), never from msmtp's exit code: msmtp exits
  EX_UNAVAILABLE (69) for 4xx and 5xx replies after DATA alike.
- A server that cannot be reached at all (offline laptop, DNS down) is
  UNREACHABLE: the message stays queued and no back-off is consumed, since
  the failure says nothing about this message (RFC 5321 §4.5.4.1 allows
  smarter strategies "when the SMTP client can determine the reason").
- A connection lost mid-transaction is TEMPORARY: RFC 5321 §3.8 says to
  treat it as if a 451 had been received.
- Back-off: ``retry_first`` doubling per deferral, jittered, capped at
  ``retry_max``; nothing is tried after ``max_age`` from when it was queued.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Protocol

from smtpq.queue.states import MessageStatus
from smtpq.sender.delivery.outcome import FailureKind


class Outcome(enum.Enum):
    """What one delivery attempt (or one recipient's reply) amounts to."""

    DELIVERED = "delivered"
    TEMPORARY = "temporary"
    PERMANENT = "permanent"
    UNREACHABLE = "unreachable"


#: What each kind of failure without a deciding reply (the sender's ``FailureKind``) means.
_FAILURE_OUTCOME = {
    FailureKind.HOST_NOT_FOUND: Outcome.UNREACHABLE,  # name lookup failed (msmtp: EX_NOHOST)
    FailureKind.CONNECT_FAILED: Outcome.UNREACHABLE,  # refused, no route, connect timeout
    FailureKind.CONNECTION_LOST: Outcome.TEMPORARY,  # RFC 5321 §3.8: as a 451
    # Retried until max_age rather than failed at once: captive portals and
    # expired certificates get fixed, and the user can see the reason in history.
    FailureKind.TLS_FAILED: Outcome.TEMPORARY,
    FailureKind.PROTOCOL_ERROR: Outcome.TEMPORARY,
    # e.g. passwordeval failed, account gone: fixable by the user
    FailureKind.LOCAL_ERROR: Outcome.TEMPORARY,
    FailureKind.BAD_MESSAGE: Outcome.PERMANENT,  # the stored mail cannot be sent as it is
}


def classify(reply_code: int | None = None, failure: FailureKind | None = None) -> Outcome:
    """The outcome of an SMTP reply code, or of a failure that had none (give exactly one)."""
    if (reply_code is None) == (failure is None):
        raise ValueError("classify needs exactly one of reply_code and failure")
    if failure is not None:
        return _FAILURE_OUTCOME[failure]
    assert reply_code is not None
    reply_class = reply_code // 100
    if reply_class == 2:
        return Outcome.DELIVERED
    if reply_class == 5:
        return Outcome.PERMANENT
    # 4yz, and anything out of protocol (1yz/3yz where a final reply belongs):
    # nothing says the message is bad, so try again later.
    return Outcome.TEMPORARY


class RetrySettings(Protocol):
    """The three settings the policy reads (``QueueSettings`` has them)."""

    @property
    def max_age(self) -> timedelta: ...
    @property
    def retry_first(self) -> timedelta: ...
    @property
    def retry_max(self) -> timedelta: ...


class RandomSource(Protocol):
    """Anything with ``random()`` in [0, 1): ``random.Random`` or a stub in tests."""

    def random(self) -> float: ...


#: Each back-off is spread over ±20 %, so messages that failed together do not
#: all come due in the same instant.
JITTER = 0.2
#: 2**40 times any useful retry_first is far past any retry_max; this only
#: keeps the arithmetic finite for absurd deferral counts.
_MAX_EXPONENT = 40


def backoff(deferrals: int, settings: RetrySettings, rng: RandomSource) -> timedelta:
    """The wait after the (``deferrals`` + 1)-th temporary failure."""
    first = settings.retry_first.total_seconds()
    ceiling = settings.retry_max.total_seconds()
    base = min(first * 2.0 ** min(deferrals, _MAX_EXPONENT), ceiling)
    jittered = base * (1 + JITTER * (2 * rng.random() - 1))
    return timedelta(seconds=min(jittered, ceiling))


def next_attempt(deferrals: int, queued_at: datetime, now: datetime, outcome: Outcome,
                 settings: RetrySettings, rng: RandomSource
                 ) -> datetime | Literal[MessageStatus.EXPIRED]:
    """When to try a message again after a TEMPORARY or UNREACHABLE *outcome*, or
    ``MessageStatus.EXPIRED`` when it is past ``max_age``: no more attempts.

    *deferrals* counts the earlier temporary failures (unreachable ones do not
    count).  The last attempt is made at ``queued_at + max_age`` at the latest;
    a failure at or after that instant expires the message.
    """
    if outcome not in (Outcome.TEMPORARY, Outcome.UNREACHABLE):
        raise ValueError(f"no next attempt after a {outcome.value} outcome")
    deadline = queued_at + settings.max_age
    if now >= deadline:
        return MessageStatus.EXPIRED
    if outcome is Outcome.UNREACHABLE:
        return now  # due again at once; the next flush decides when that is
    return min(now + backoff(deferrals, settings, rng), deadline)


@dataclass(frozen=True)
class Decision:
    """Where a message goes after an attempt, and when it is due again (if ever).

    The status names the store transition to call: sent → ``mark_sent``,
    failed → ``fail``, expired → ``expire``, queued → ``release_unreachable``,
    deferred → ``defer(…, next_attempt)``.
    """

    status: MessageStatus
    next_attempt: datetime | None = None


def decide(outcome: Outcome, *, deferrals: int, queued_at: datetime, now: datetime,
           settings: RetrySettings, rng: RandomSource) -> Decision:
    """The ``Decision`` for a message whose attempt ended in *outcome*."""
    if outcome is Outcome.DELIVERED:
        return Decision(MessageStatus.SENT)
    if outcome is Outcome.PERMANENT:
        return Decision(MessageStatus.FAILED)
    when = next_attempt(deferrals, queued_at, now, outcome, settings, rng)
    if when is MessageStatus.EXPIRED:
        return Decision(MessageStatus.EXPIRED)
    status = MessageStatus.QUEUED if outcome is Outcome.UNREACHABLE else MessageStatus.DEFERRED
    return Decision(status, when)
