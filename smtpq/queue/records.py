"""Plain records the queue store exchanges with the flush worker and the CLI (stdlib only).

The flush worker gets ``ClaimedMessage`` and reports
``RecipientResult``/``AttemptRecord`` in a ``Transition``; the CLI reads
``MessageSummary``/``MessageDetail``.  (``NewMessage``, what enqueue takes,
lives in ``smtpq.queue.new_message``: the sendmail path should not pay for
creating these classes.)  Every datetime is timezone-aware UTC.

The queue's health: ``FlushRun`` is one row of the journal every flush keeps
(started when it took the lock, finished with its exit status and counts; a run
killed on the way stays unfinished).  ``QueueHealth`` is what ``smtpq status``
and ``smtpq check`` read in one transaction (``QueueStore.health``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from smtpq.queue.states import MessageStatus, NoticeKind
from smtpq.sender.delivery.outcome import RecipientStatus


@dataclass(frozen=True)
class Recipient:
    """One envelope recipient; ``position`` is its index in the original recipient list."""

    position: int
    address: str


@dataclass(frozen=True)
class ClaimedMessage:
    """A message a flusher owns until ``claim_expires``; ``recipients`` are the undelivered ones."""

    id: int
    account: str
    config_file: str | None
    options: tuple[str, ...]
    envelope_from: str
    recipients: tuple[Recipient, ...]
    size: int
    msgid: str | None
    created: datetime
    queued_at: datetime
    attempts: int
    deferrals: int
    claimed_by: str
    claim_expires: datetime
    #: The whole stored mail when it is small, fetched with the claim (else None:
    #: read it with ``QueueStore.open_content``).
    content: bytes | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class RecipientResult:
    """What the server said about one recipient (by ``Recipient.position``)."""

    position: int
    status: RecipientStatus
    smtp_status: int | None = None
    smtp_message: str | None = None


@dataclass(frozen=True)
class AttemptRecord:
    """One delivery attempt, as kept in the message's history."""

    started: datetime
    finished: datetime
    exit_code: int  # sysexits code, as msmtp would have exited
    smtp_status: int | None = None
    smtp_message: str | None = None
    log_line: str = ""  # msmtp's log line for the attempt (never a password)


@dataclass(frozen=True)
class Transition:
    """A verdict on a claimed message, for ``QueueStore.apply`` (several in one commit).

    ``status`` is where the message goes: ``sent``, ``deferred`` (until
    ``next_attempt``), ``failed``, ``expired``, or ``queued`` (the server was
    unreachable).  Apart from ``sent``, it applies only while ``worker_id``
    (or whoever claimed the message through the store) still holds the claim.
    """

    message_id: int
    status: MessageStatus
    now: datetime
    results: tuple[RecipientResult, ...] = ()
    attempt: AttemptRecord | None = None
    next_attempt: datetime | None = None
    worker_id: str | None = None


@dataclass(frozen=True)
class RecipientState:
    """A recipient as stored, for ``smtpq show``."""

    position: int
    address: str
    status: RecipientStatus
    smtp_status: int | None
    smtp_message: str | None
    updated: datetime


@dataclass(frozen=True)
class MessageSummary:
    """One line of ``smtpq list``."""

    id: int
    status: MessageStatus
    envelope_from: str
    recipients: tuple[str, ...]
    account: str
    size: int
    created: datetime
    attempts: int
    last_exit_code: int | None
    next_attempt: datetime | None
    subject: str | None
    msgid: str | None


@dataclass(frozen=True)
class MessageDetail(MessageSummary):
    """Everything ``smtpq show`` prints about one message."""

    config_file: str | None
    options: tuple[str, ...]
    queued_at: datetime
    deferrals: int
    last_smtp_status: int | None
    last_smtp_message: str | None
    claimed_by: str | None
    claim_expires: datetime | None
    finished: datetime | None
    recipient_states: tuple[RecipientState, ...]
    history: tuple[AttemptRecord, ...]
    #: Whether the holder of a message being sent lives, when the database can tell
    #: (PostgreSQL: its session); None: ask ``holders`` (its host and pid).
    holder_alive: bool | None = None


@dataclass(frozen=True)
class NoticeDue:
    """A message owed a notice (``QueueStore.due_notices``): what happened to it."""

    message_id: int
    kind: NoticeKind


@dataclass(frozen=True)
class Route:
    """Where ``QueueStore.reroute`` sends a message: its account and stored options."""

    account: str
    options: tuple[str, ...]


# -- the queue's health ------------------------------------------------------------

#: How many flush runs the journal keeps (the newest ones).
KEEP_RUNS = 100


@dataclass(frozen=True)
class FlushRunEnd:
    """How a flush ended, for ``QueueStore.finish_flush_run``."""

    finished: datetime
    exit_code: int
    sent: int = 0
    deferred: int = 0
    failed: int = 0
    expired: int = 0
    unreachable: int = 0
    last_sent: datetime | None = None
    note: str | None = None


@dataclass(frozen=True)
class FlushRun:
    """One flush as journaled; ``finished`` is None while it runs or when it was killed."""

    id: int
    host: str
    pid: int
    started: datetime
    finished: datetime | None
    exit_code: int | None
    sent: int
    deferred: int
    failed: int
    expired: int
    unreachable: int
    last_sent: datetime | None
    note: str | None


@dataclass(frozen=True)
class Holder:
    """A message in ``sending`` and the flusher holding it (``host:pid``, as claimed)."""

    message_id: int
    claimed_by: str | None
    claim_expires: datetime | None


@dataclass(frozen=True)
class QueueHealth:
    """One consistent look at the queue."""

    counts: dict[str, int]  # per message status (every status present, 0 when none)
    oldest_pending: datetime | None  # created: the oldest queued, deferred, sending or held mail
    last_run: FlushRun | None  # the newest flush, finished or not
    last_delivery: datetime | None  # when mail was last accepted by a server
    sending: tuple[Holder, ...] = field(default=())
