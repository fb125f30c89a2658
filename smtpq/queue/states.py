"""The states a queued message and each of its recipients go through.

Stored as their lowercase text values (text columns guarded by CHECK
constraints), which are also the statuses ``smtpq list --json`` prints.

Transitions of a message:

- enqueue → queued
- queued, or deferred and due → sending: a flusher claims it (with a lease)
- sending → sent: the server accepted DATA (RFC 5321 §4.1.1.4: 250 after ".")
- sending → deferred: temporary (4xx) failure; the back-off grows
- sending → queued: the server was unreachable, or the lease ran out (a killed
  flusher); neither consumes back-off
- sending → failed: permanent (5xx) failure, or a mail that cannot be sent
- queued/deferred/sending → expired: still undelivered after ``max_age``
- queued/deferred → held: ``smtpq hold``; held → queued: ``smtpq release``
- failed/expired/deferred/held → queued, due now: ``smtpq retry`` (with
  ``--account``, queued mail too, through another account)
- sent → gone after ``keep_sent``; anything but sending → gone by ``smtpq purge``
"""

from __future__ import annotations

import enum


class MessageStatus(enum.StrEnum):
    """Where a message stands; see the module docstring."""

    QUEUED = "queued"  # due: the next flush delivers it
    DEFERRED = "deferred"  # waiting for back-off after a temporary (4xx) failure
    SENDING = "sending"  # claimed by a flusher (claimed_by, claim_expires)
    SENT = "sent"  # the server accepted DATA
    FAILED = "failed"  # permanent (5xx) failure or an unusable mail
    EXPIRED = "expired"  # undelivered after max_age
    HELD = "held"  # kept back by ``smtpq hold`` until released

    @property
    def is_final(self) -> bool:
        """No flush will touch it again (``smtpq retry`` can revive failed/expired)."""
        return self in _FINAL


_FINAL = frozenset({MessageStatus.SENT, MessageStatus.FAILED, MessageStatus.EXPIRED})

#: Statuses a flush may claim.
CLAIMABLE = (MessageStatus.QUEUED, MessageStatus.DEFERRED)
#: Statuses ``smtpq retry --failed`` puts back to queued (the mail a flush gave up on).
RETRYABLE = (MessageStatus.FAILED, MessageStatus.EXPIRED)
#: Statuses ``smtpq retry ID`` makes queued and due now.
REVIVABLE = (*RETRYABLE, MessageStatus.DEFERRED, MessageStatus.HELD)
#: Statuses ``smtpq retry ID --account NAME`` re-routes (every one a flush has not finished).
REROUTABLE = (MessageStatus.QUEUED, *REVIVABLE)
#: Statuses ``smtpq hold`` keeps back (a message being sent is refused: it is on the wire).
HOLDABLE = (MessageStatus.QUEUED, MessageStatus.DEFERRED)
#: What ``smtpq list`` shows without ``--all``.
PENDING = (MessageStatus.QUEUED, MessageStatus.DEFERRED, MessageStatus.SENDING,
           MessageStatus.HELD, MessageStatus.FAILED, MessageStatus.EXPIRED)


class RecipientStatus(enum.StrEnum):
    """Where one envelope recipient stands (RFC 5321 §3.3: RCPT replies are per recipient)."""

    PENDING = "pending"  # not yet accepted by the server
    SENT = "sent"  # accepted, and the server accepted DATA
    DEFERRED = "deferred"  # 4xx to RCPT or to DATA: try again
    FAILED = "failed"  # 5xx to RCPT or to DATA: give up on this recipient


#: Recipients a flush still has to deliver to.
UNDELIVERED = (RecipientStatus.PENDING, RecipientStatus.DEFERRED)


class NoticeKind(enum.StrEnum):
    """What a delivery status notification (and the notify hook) reports about a message."""

    FAILED = "failed"  # failed for good (RFC 3464 Action: failed)
    EXPIRED = "expired"  # undelivered after max_age (Action: failed, usually Status 4.4.7)
    DELAYED = "delayed"  # still pending after delay_warning (Action: delayed)
