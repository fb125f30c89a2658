"""The flush worker: deliver what is due, one connection per route, every change durable.

One flusher per queue at a time (``flushlock``; a second one returns at once).
Messages are claimed oldest first in small batches; messages of the same route
share one connection (RSET between them, envelopes pipelined by the session).
A message is marked sent the moment the server accepts its DATA, so a crash can
repeat at most the one message in flight (RFC 5321 §3.8: at-least-once).
An unreachable server leaves the rest of its route's batch queued without
consuming back-off.  After letting the lock go, the flusher looks once more for
mail enqueued while it held it (an enqueue that saw the lock taken started no
flusher of its own).
"""

from __future__ import annotations

import dataclasses
import os
import random
import socket
from collections.abc import Callable, Collection, Mapping
from datetime import UTC, datetime

from smtpq.queue.flushlock import adopt_lock, lock_path, release, try_lock
from smtpq.queue.policy import Outcome, decide
from smtpq.queue.records import ClaimedMessage
from smtpq.queue.settings import QueueSettings
from smtpq.queue.states import MessageStatus
from smtpq.queue.store import QueueStore
from smtpq.queue.verdict import Verdict, judge

BATCH = 100


@dataclasses.dataclass
class FlushRequest:
    """What to flush: everything due, or only some ids or one account; ``now`` ignores back-off."""

    ids: Collection[int] | None = None
    account: str | None = None
    ignore_backoff: bool = False
    lock_fd: int | None = None  # a lock inherited from the enqueue that started us


@dataclasses.dataclass
class FlushReport:
    """Counts of what one flush did (``skipped``: another flusher holds the lock)."""

    sent: int = 0
    deferred: int = 0
    failed: int = 0
    expired: int = 0
    unreachable: int = 0
    skipped: bool = False
    offline_reason: str | None = None

    @property
    def attempted(self) -> int:
        return self.sent + self.deferred + self.failed + self.expired + self.unreachable


#: Called after each message with (message, its verdict, the report so far).
Progress = Callable[[ClaimedMessage, Verdict, FlushReport], None]


def run_flush(settings: QueueSettings, request: FlushRequest, *, env: Mapping[str, str],
              progress: Progress | None = None) -> FlushReport:
    """Flush the queue at ``settings.database`` under the per-host lock."""
    from smtpq.queue.sql_store import open_store

    path = lock_path(settings.database, env)
    fd = adopt_lock(request.lock_fd) if request.lock_fd is not None else try_lock(path)
    if fd is None:
        return FlushReport(skipped=True)
    report, seen, rerun = FlushReport(), 0, False
    with open_store(settings.database) as store:
        while True:
            try:
                newest = _drain(store, settings, request, env, report, progress)
            finally:
                release(fd)
            if rerun and newest == 0:
                return report  # what is left is not ours to take (filters, back-off)
            seen, rerun = max(seen, newest), True
            # Mail enqueued while we held the lock: the enqueuer left it to us.
            if not _newer_mail(store, seen, request) or (fd := try_lock(path)) is None:
                return report


def _newer_mail(store: QueueStore, newest: int, request: FlushRequest) -> bool:
    if request.ids is not None:
        return False
    return bool(store.list_messages((MessageStatus.QUEUED,), after_id=newest, limit=1))


def _drain(store: QueueStore, settings: QueueSettings, request: FlushRequest,
           env: Mapping[str, str], report: FlushReport, progress: Progress | None) -> int:
    """Deliver everything due; the highest message id seen (0 if none)."""
    worker = Worker(store, settings, env, report, progress)
    now = _now()
    store.reclaim_expired(now)
    report.expired += len(store.expire_old(now, settings.max_age))
    store.prune_sent(now, settings.keep_sent)
    newest = 0
    while batch := store.claim_due(
            _now(), limit=BATCH, worker_id=worker.worker_id, lease=settings.claim_lease,
            account=request.account, ids=request.ids, ignore_backoff=request.ignore_backoff,
            after_id=newest):
        newest = max(m.id for m in batch)  # claims come in id order
        worker.deliver_batch(batch)
    return newest


class Worker:
    """Delivers claimed batches and records every outcome in the store."""

    def __init__(self, store: QueueStore, settings: QueueSettings, env: Mapping[str, str],
                 report: FlushReport, progress: Progress | None) -> None:
        self.store, self.settings, self.env = store, settings, env
        self.report, self.progress = report, progress
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}"
        self.rng = random.Random()

    def deliver_batch(self, batch: list[ClaimedMessage]) -> None:
        from smtpq.queue.route_delivery import deliver_route
        from smtpq.queue.routes import RouteKey

        groups: dict[RouteKey, list[ClaimedMessage]] = {}
        for message in batch:
            groups.setdefault(RouteKey.of(message), []).append(message)
        for key, messages in groups.items():
            deliver_route(self, key, messages)

    def renew(self, messages: list[ClaimedMessage]) -> None:
        """Extend the leases of messages still waiting (a long upload must not lose them)."""
        until = _now() + self.settings.claim_lease
        self.store.renew_claims([m.id for m in messages], worker_id=self.worker_id, until=until)

    def record(self, message: ClaimedMessage, verdict: Verdict) -> None:
        """Store *verdict*: the transition, per-recipient results and the history entry."""
        now = _now()
        decision = decide(verdict.outcome, deferrals=message.deferrals,
                          queued_at=message.queued_at, now=now, settings=self.settings,
                          rng=self.rng)
        _TRANSITIONS[decision.status](self.store, message.id, now, decision.next_attempt, verdict)
        self._count(verdict.outcome, decision.status)
        if self.progress is not None:
            self.progress(message, verdict, self.report)

    def _count(self, outcome: Outcome, status: MessageStatus) -> None:
        if status is MessageStatus.QUEUED:
            self.report.unreachable += 1
        else:
            field = {MessageStatus.SENT: "sent", MessageStatus.FAILED: "failed",
                     MessageStatus.DEFERRED: "deferred", MessageStatus.EXPIRED: "expired"}[status]
            setattr(self.report, field, getattr(self.report, field) + 1)


def _sent(store: QueueStore, mid: int, now: datetime, _: object, v: Verdict) -> None:
    store.mark_sent(mid, now, results=v.results, attempt=v.attempt)


def _deferred(store: QueueStore, mid: int, now: datetime, when: object, v: Verdict) -> None:
    assert isinstance(when, datetime)
    store.defer(mid, now, when, results=v.results, attempt=v.attempt)


def _failed(store: QueueStore, mid: int, now: datetime, _: object, v: Verdict) -> None:
    store.fail(mid, now, results=v.results, attempt=v.attempt)


def _expired(store: QueueStore, mid: int, now: datetime, _: object, v: Verdict) -> None:
    store.expire(mid, now, results=v.results, attempt=v.attempt)


def _unreachable(store: QueueStore, mid: int, now: datetime, _: object, v: Verdict) -> None:
    store.release_unreachable(mid, now, attempt=v.attempt)


_TRANSITIONS = {
    MessageStatus.SENT: _sent, MessageStatus.DEFERRED: _deferred,
    MessageStatus.FAILED: _failed, MessageStatus.EXPIRED: _expired,
    MessageStatus.QUEUED: _unreachable,
}


def _now() -> datetime:
    return datetime.now(UTC)


__all__ = ["FlushReport", "FlushRequest", "Worker", "judge", "run_flush"]
