"""The states a queued message goes through, and the groups of states the queue acts on.

Stored as their lowercase text values (text columns guarded by CHECK
constraints), which are also the statuses ``smtpq list --json`` prints.  A
recipient's state is what the sender reports about it:
``smtpq.sender.delivery.outcome.RecipientStatus``, stored as it is.  A new
message is queued and a new recipient pending by the schema's defaults
(``smtpq.queue.store.sql.models``), so no enqueue path spells either.

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

from smtpq.sender.delivery.outcome import RecipientStatus


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


#: Recipients a flush still has to deliver to.
UNDELIVERED = (RecipientStatus.PENDING, RecipientStatus.DEFERRED)


class NoticeKind(enum.StrEnum):
    """What a delivery status notification (and the notify hook) reports about a message."""

    FAILED = "failed"  # failed for good (RFC 3464 Action: failed)
    EXPIRED = "expired"  # undelivered after max_age (Action: failed, usually Status 4.4.7)
    DELAYED = "delayed"  # still pending after delay_warning (Action: delayed)
