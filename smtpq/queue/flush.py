"""The flush worker: deliver what is due, one connection per route, every change durable.

One flusher per queue at a time (``flushlock``; a second one returns at once),
with ``parallel_connections`` worker processes of its own (``flush_parallel``).
Messages are claimed oldest first in small batches; messages of the same route
share one connection for the whole flush, pipelined across mails (RFC 2920).
A message is marked sent once the server accepts its DATA; the verdicts are
committed in small groups (``group_commit``), so a crash can repeat the mails
whose verdicts were not yet committed (RFC 5321 §3.8: at-least-once), never
lose one.  An unreachable server leaves the rest of its route's batch queued without
consuming back-off.  After letting the lock go, the flusher looks once more for
mail enqueued while it held it (an enqueue that saw the lock taken started no
flusher of its own), and takes the lock again for it.  A background flusher
first lingers a moment for more mail, so that a burst of enqueues spread over
seconds (a loop in a script) is served by one flusher, not one per lull.  A
flush of some mail only (``--id``, ``--account``) hands what it leaves to a
background flush, as the enqueues that found its lock taken would have done.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import random
import socket
import time
from collections.abc import Callable, Collection, Mapping
from datetime import UTC, datetime

from smtpq.queue.flushlock import adopt_lock, lock_path, release, try_lock
from smtpq.queue.policy import Outcome, decide
from smtpq.queue.records import ClaimedMessage, Transition
from smtpq.queue.settings import QueueSettings
from smtpq.queue.states import MessageStatus, RecipientStatus
from smtpq.queue.store import QueueStore
from smtpq.queue.verdict import Verdict, judge

BATCH = 100
#: How long a background flusher waits for more mail before it lets the lock go.
BACKGROUND_LINGER = 1.0
#: How often a lingering flusher looks for new mail.
LINGER_POLL = 0.05


@dataclasses.dataclass
class FlushRequest:
    """What to flush: everything due, or only some ids or one account; ``now`` ignores back-off."""

    ids: Collection[int] | None = None
    account: str | None = None
    ignore_backoff: bool = False
    lock_fd: int | None = None  # a lock inherited from the enqueue that started us
    #: Seconds to keep the lock after the queue ran dry, for mail still arriving
    #: (the background flusher: a burst of enqueues then starts one flusher, not one per lull).
    linger: float = 0.0


@dataclasses.dataclass
class FlushReport:
    """Counts of what one flush did (``skipped``: another flusher holds the lock)."""

    sent: int = 0
    deferred: int = 0
    failed: int = 0
    expired: int = 0
    unreachable: int = 0
    due: int | None = None  # counted at the start, only when progress is shown
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
        _refuse_foreign_holder(path)
        return FlushReport(skipped=True)
    report = FlushReport()
    with open_store(settings.database) as store:
        rounds = Rounds(store, settings, request, env, report, progress)
        rounds.tidy()
        if progress is not None:
            report.due = store.count_due(_now(), account=request.account, ids=request.ids,
                                         ignore_backoff=request.ignore_backoff)
        seen = floor = 0
        while True:
            try:
                seen = max(rounds.run(seen), floor)
            finally:
                release(fd)
            # Mail enqueued while we held the lock: the enqueuer left it to us.
            newer = _newer_mail(store, seen, request)
            if newer is None:
                _hand_off(store, settings, request, env, seen)
                return report
            if (fd := try_lock(path)) is None:
                return report  # another flusher took over, and with it that mail
            floor = newer  # taken now, or not ours to take: either way, look past it next


def _refuse_foreign_holder(path: str) -> None:
    """A lock held by another user never blocks this queue silently (``lock_holder``)."""
    from smtpq.queue.lock_holder import refuse_foreign_holder

    refuse_foreign_holder(path, thorough=True)


def _newer_mail(store: QueueStore, seen: int, request: FlushRequest) -> int | None:
    """The lowest id above *seen* of queued mail that *request* takes, or None."""
    if request.ids is not None:
        return None  # only the messages named
    while page := store.list_messages((MessageStatus.QUEUED,), after_id=seen, limit=BATCH):
        for message in page:
            if request.account is None or message.account == request.account:
                return message.id
        seen = page[-1].id
    return None


def _hand_off(store: QueueStore, settings: QueueSettings, request: FlushRequest,
              env: Mapping[str, str], seen: int) -> None:
    """After a flush of some mail only: start a background flush for the rest, as the
    enqueues that found our lock taken would have done."""
    from smtpq.queue.settings import AfterEnqueue
    from smtpq.queue.trigger import start_background_flush

    if request.ids is None and request.account is None:
        return
    if settings.after_enqueue == AfterEnqueue.FLUSH and _newer_mail(store, seen, FlushRequest()):
        with contextlib.suppress(OSError):  # our own flush is done; the next one takes it
            start_background_flush(settings.database, env)


class Rounds:
    """One turn holding the lock: deliver what is due, then (a background flusher)
    linger while mail keeps arriving, so a burst of enqueues is served by one process."""

    def __init__(self, store: QueueStore, settings: QueueSettings, request: FlushRequest,
                 env: Mapping[str, str], report: FlushReport, progress: Progress | None) -> None:
        self.store, self.settings, self.request = store, settings, request
        self.env, self.report, self.progress = env, report, progress

    def run(self, seen: int) -> int:
        """Deliver what is due above id *seen*; the highest id dealt with."""
        seen = max(seen, self.drain(seen))
        deadline = time.monotonic() + self.request.linger
        while time.monotonic() < deadline:
            time.sleep(LINGER_POLL)
            newer = _newer_mail(self.store, seen, self.request)
            if newer is not None:
                seen = max(self.drain(seen), newer)
                deadline = time.monotonic() + self.request.linger
        return seen

    def tidy(self) -> None:
        """Requeue the mail of dead flushers, expire old mail, forget old sent mail."""
        now = _now()
        self.store.reclaim_expired(now)
        self.report.expired += len(self.store.expire_old(now, self.settings.max_age))
        self.store.prune_sent(now, self.settings.keep_sent)

    def drain(self, after_id: int) -> int:
        """Deliver everything due above *after_id*; the highest message id claimed (0 if none)."""
        from smtpq.queue.flush_parallel import drain_in_parallel

        workers = self.settings.parallel_connections
        if workers > 1:
            return drain_in_parallel(self, after_id, workers)
        return self.drain_alone(after_id)

    def drain_alone(self, after_id: int, *, limit: int | None = None,
                    keep_going: Callable[[], bool] = lambda: True) -> int:
        """``drain`` in this process alone (claims of at most *limit* mails, ``BATCH``)."""
        store, settings, request = self.store, self.settings, self.request
        limit = limit or BATCH
        worker = Worker(store, settings, self.env, self.report, self.progress)
        newest = 0
        try:
            while keep_going() and (batch := store.claim_due(
                    _now(), limit=limit, worker_id=worker.worker_id,
                    lease=settings.claim_lease, account=request.account, ids=request.ids,
                    ignore_backoff=request.ignore_backoff, after_id=max(after_id, newest))):
                newest = max(m.id for m in batch)  # claims come in id order
                worker.deliver_batch(batch)
        finally:
            worker.close()
        return newest


class ClaimsLost(Exception):
    """Some of this flusher's claims lapsed and another flusher may have taken them."""


class Worker:
    """Delivers claimed batches and records every outcome in the store."""

    def __init__(self, store: QueueStore, settings: QueueSettings, env: Mapping[str, str],
                 report: FlushReport, progress: Progress | None) -> None:
        from smtpq.queue.group_commit import GroupCommit
        from smtpq.queue.routes import RouteCouriers

        self.store, self.settings, self.env = store, settings, env
        self.report, self.progress = report, progress
        self.outstanding: set[int] = set()  # claimed ids of the batch not yet recorded
        self.renewed = 0.0  # time.monotonic() of the last lease renewal
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}"
        self.rng = random.Random()
        self.commits = GroupCommit(store)
        self.lease = settings.claim_lease  # read once: a setting made on first read
        self.routes = RouteCouriers(env, on_idle=self.commits.commit_when_idle,
                                    before_quit=self.commits.commit)

    def close(self) -> None:
        """Commit what is pending, then QUIT every connection."""
        self.routes.close()

    def deliver_batch(self, batch: list[ClaimedMessage]) -> None:
        from smtpq.queue.route_delivery import deliver_route
        from smtpq.queue.routes import RouteKey

        groups: dict[RouteKey, list[ClaimedMessage]] = {}
        for message in batch:
            groups.setdefault(RouteKey.of(message), []).append(message)
        self.outstanding = {m.id for m in batch}
        self.renewed = time.monotonic()  # claim_due just set the leases
        try:
            for key, messages in groups.items():
                deliver_route(self, key, messages)
        except ClaimsLost:
            # Another flusher took over (we stalled past the lease): send nothing more
            # of this batch; what we still hold is requeued when its lease runs out.
            self.outstanding = set()

    def renew(self) -> None:
        """Extend the leases of every message of the batch not yet done: while one route
        is slow (a long upload, connection retries), the others' claims must not lapse,
        or a flusher on another host would take them and send them twice.

        Renewed once a third of the lease has passed (a row update per message is
        not free); raises ``ClaimsLost`` when some claim lapsed and was taken over.
        """
        if not self.outstanding or time.monotonic() - self.renewed < self.lease.total_seconds() / 3:
            return
        self.commits.commit()  # what is recorded needs no lease any more
        until = _now() + self.lease
        held = self.store.renew_claims(sorted(self.outstanding), worker_id=self.worker_id,
                                       until=until)
        self.renewed = time.monotonic()
        if held < len(self.outstanding):
            raise ClaimsLost(f"{len(self.outstanding) - held} claim(s) taken over")

    def record(self, message: ClaimedMessage, verdict: Verdict) -> None:
        """Store *verdict* (the transition, per-recipient results, the history entry)
        with the next group commit."""
        now = _now()
        outcome = verdict.outcome
        if outcome is Outcome.DELIVERED and message.attempts and self._failed_before(message):
            # The last recipients took it, but an earlier one was refused for good:
            # failed, as when both fates come in one attempt (``verdict``).
            outcome = Outcome.PERMANENT
        decision = decide(outcome, deferrals=message.deferrals,
                          queued_at=message.queued_at, now=now, settings=self.settings,
                          rng=self.rng)
        self.commits.add(Transition(message.id, decision.status, now, verdict.results,
                                    verdict.attempt, decision.next_attempt, self.worker_id))
        self.outstanding.discard(message.id)
        self._count(outcome, decision.status)
        if self.progress is not None:
            self.progress(message, verdict, self.report)

    def _failed_before(self, message: ClaimedMessage) -> bool:
        """Whether an earlier attempt failed one of *message*'s recipients permanently."""
        detail = self.store.get_message(message.id)
        return detail is not None and any(
            r.status is RecipientStatus.FAILED for r in detail.recipient_states)

    def _count(self, outcome: Outcome, status: MessageStatus) -> None:
        if status is MessageStatus.QUEUED:
            self.report.unreachable += 1
        else:
            field = {MessageStatus.SENT: "sent", MessageStatus.FAILED: "failed",
                     MessageStatus.DEFERRED: "deferred", MessageStatus.EXPIRED: "expired"}[status]
            setattr(self.report, field, getattr(self.report, field) + 1)


def _now() -> datetime:
    return datetime.now(UTC)


__all__ = ["FlushReport", "FlushRequest", "Worker", "judge", "run_flush"]
