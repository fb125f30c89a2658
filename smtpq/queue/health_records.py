"""Records of the queue's health: the flush journal (``flush_runs``) and one look at the queue.

``FlushRun`` is one row of the journal every flush keeps (started when it took
the lock, finished with its exit status and counts; a run killed on the way
stays unfinished).  ``QueueHealth`` is what ``smtpq status`` and ``smtpq
check`` read in one transaction (``QueueStore.health``).  Every datetime is
timezone-aware UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

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
