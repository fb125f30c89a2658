"""Draining the queue under the flush lock: claim batches, deliver them route by route.

``Rounds`` is one turn of the flusher (``flusher``) holding the lock: it
tidies the queue (dead flushers' claims, expired and old sent mail), drains
what is due with the drain its flusher chose (this process alone, or the
``parallel`` worker processes), lingers for more mail when asked to, and
queues the notices then due.  ``Worker`` delivers the batches one process
claims: each route (account) in its own thread with one connection for the
whole flush (``route_lanes``), leases renewed while a route is slow, each
verdict recorded and committed in groups (``group_commit``).  ``FlushRequest``
and ``FlushReport`` are what a flush is asked and what it did.
"""

from __future__ import annotations

import dataclasses
import random
import threading
import time
from collections.abc import Callable, Collection, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from smtpq.queue.errors import ClaimsLost
from smtpq.queue.flush import holders, stopping
from smtpq.queue.flush.events import FlushEvent, exit_status, from_expired, from_verdict
from smtpq.queue.flush.policy import Outcome, decide
from smtpq.queue.flush.verdict import Verdict
from smtpq.queue.records import ClaimedMessage, Transition
from smtpq.queue.settings import QueueSettings
from smtpq.queue.states import MessageStatus
from smtpq.queue.store.interface import QueueStore
from smtpq.sender.delivery.outcome import RecipientStatus

if TYPE_CHECKING:
    from smtpq.queue.flush.routes import RouteKey
    from smtpq.sender.delivery.outcome import DeliveryOutcome

BATCH = 100
#: How often a lingering flusher looks for new mail.
LINGER_POLL = 0.05
#: How often a flusher waiting for a slow route looks for newly due mail.
MORE_MAIL_POLL = 1.0


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
    #: A remark for the flush journal (``smtpq status``): why a background flush has no
    #: flush log, say.
    note: str | None = None


@dataclasses.dataclass
class FlushReport:
    """Counts of what one flush did (``skipped``: another flusher holds the lock, named
    by ``holder``; ``interrupted``: a stop signal came, and ``given_back`` claims not
    started went back to the queue; ``taken_back``: claims of dead flushers requeued)."""

    sent: int = 0
    deferred: int = 0
    failed: int = 0
    expired: int = 0
    unreachable: int = 0
    due: int | None = None  # counted at the start, only when progress is shown
    skipped: bool = False
    offline_reason: str | None = None
    interrupted: bool = False
    given_back: int = 0
    taken_back: int = 0
    holder: str | None = None
    #: What happened to each mail, in order (``events``).
    events: list[FlushEvent] = dataclasses.field(default_factory=list)
    last_sent: datetime | None = None  # when the server last accepted a mail of this flush

    @property
    def attempted(self) -> int:
        return self.sent + self.deferred + self.failed + self.expired + self.unreachable

    @property
    def exit_code(self) -> int:
        """The worst thing that happened to the mail of this flush (``exit_status``)."""
        return exit_status(self.events, interrupted=self.interrupted)


#: Called after each message with (message, its verdict, the report so far).
Progress = Callable[[ClaimedMessage, Verdict, FlushReport], None]


def newer_mail(store: QueueStore, seen: int, request: FlushRequest) -> int | None:
    """The lowest id above *seen* of queued mail that *request* takes, or None."""
    if request.ids is not None:
        return None  # only the messages named
    while page := store.list_messages((MessageStatus.QUEUED,), after_id=seen, limit=BATCH):
        for message in page:
            if request.account is None or message.account == request.account:
                return message.id
        seen = page[-1].id
    return None


class Rounds:
    """One turn holding the lock: deliver what is due, then (a background flusher)
    linger while mail keeps arriving, so a burst of enqueues is served by one process."""

    def __init__(self, store: QueueStore, settings: QueueSettings, request: FlushRequest,
                 env: Mapping[str, str], report: FlushReport, progress: Progress | None) -> None:
        self.store, self.settings, self.request = store, settings, request
        self.env, self.report, self.progress = env, report, progress
        #: How this turn delivers what is due above an id (the highest id it claimed):
        #: in this process alone unless its flusher chose otherwise (``parallel``).
        self.drain: Callable[[int], int] = self.drain_alone
        # The routes' accounts, for every drain of this flush: a password asked
        # for at AUTH is asked once per account and flush (``routes``).
        self.accounts: dict[Any, Any] = {}

    def run(self, seen: int) -> int:
        """Deliver what is due above id *seen*; the highest id dealt with."""
        seen = max(seen, self.drain(seen))
        deadline = time.monotonic() + self.request.linger
        while time.monotonic() < deadline and not stopping.requested():
            time.sleep(LINGER_POLL)
            newer = newer_mail(self.store, seen, self.request)
            if newer is not None:
                seen = max(self.drain(seen), newer)
                deadline = time.monotonic() + self.request.linger
        self.notices()
        return seen

    def notices(self) -> None:
        """Queue the notices now due (failed, expired, delayed mail; ``smtpq.queue.notices.sweep``):
        after the verdicts are committed, the notices join the queue as new mail."""
        from smtpq.queue.notices.sweep import send_notices

        send_notices(self.store, self.settings, self.env, _now())

    def tidy(self) -> None:
        """Requeue the mail of dead flushers, expire old mail, forget old sent mail,
        give the space back."""
        now = _now()
        self.store.reclaim_expired(now)
        self.report.taken_back += self.take_back_dead(now)
        expired = self.store.expire_old(now, self.settings.max_age)
        self.report.expired += len(expired)
        for message_id in expired:  # said by the flush: expiry is never silent
            if (detail := self.store.get_message(message_id)) is not None:
                self.report.events.append(from_expired(detail))
        self.store.prune_sent(now, self.settings.keep_sent)
        self.store.reclaim_space()  # of pruned mail and dropped sent content (queue.space)

    def take_back_dead(self, now: datetime) -> int:
        """On SQLite, requeue at once the claims of this host's flushers that are gone.

        We hold the per-host flush lock, so no other flusher of this queue runs
        here (``parallel_connections`` workers hold their flusher's lock while
        they live); a gone one was killed (SIGKILL, OOM, power loss) and cannot
        record anything more.  A server database keeps its own liveness (the lease).
        """
        from smtpq.queue.store.sqlite_file import sqlite_path

        if sqlite_path(self.settings.database) is None:
            return 0
        dead = [holder for holder in self.store.claim_holders() if holders.is_dead(holder)]
        return len(self.store.release_claims(dead, now)) if dead else 0

    def drain_alone(self, after_id: int, *, limit: int | None = None,
                    keep_going: Callable[[], bool] = lambda: True) -> int:
        """``drain`` in this process alone (claims of at most *limit* mails, ``BATCH``)."""
        store, settings, request = self.store, self.settings, self.request
        limit = limit or BATCH
        worker = Worker(store, settings, self.env, self.report, self.progress,
                        accounts=self.accounts)
        newest = 0
        keep_going = stopping.checked(keep_going)

        def claim() -> list[ClaimedMessage]:
            if stopping.requested():
                return []  # asked to stop: claim nothing more
            return store.claim_due(
                _now(), limit=limit, worker_id=worker.worker_id, lease=settings.claim_lease,
                account=request.account, ids=request.ids,
                ignore_backoff=request.ignore_backoff, after_id=max(after_id, newest))

        try:
            while keep_going() and (batch := claim() or worker.wait_for_more(claim)):
                newest = max(m.id for m in batch)  # claims come in id order
                worker.deliver_batch(batch)
        except stopping.Abandoned:
            worker.close(aborted=True)  # a second stop signal: the mail on the wire goes back
        except BaseException:
            worker.close(aborted=True)
            raise
        else:
            worker.close()  # what is recorded is committed; QUIT where the session allows
        finally:
            if stopping.requested():
                self.give_back(worker)
        return newest

    def give_back(self, worker: Worker) -> None:
        """Queue again, due at once, every claim of *worker* it did not finish."""
        given = self.store.release_claims([worker.worker_id], _now())
        self.report.given_back += len(given)
        self.report.interrupted = True


class Worker:
    """Delivers claimed batches and records every outcome in the store."""

    def __init__(self, store: QueueStore, settings: QueueSettings, env: Mapping[str, str],
                 report: FlushReport, progress: Progress | None,
                 accounts: dict[Any, Any] | None = None) -> None:
        from smtpq.queue.flush.group_commit import GroupCommit
        from smtpq.queue.flush.route_lanes import RouteLanes
        from smtpq.queue.flush.routes import RouteCouriers
        from smtpq.sender.protocol.deadlines import StageLimits

        self.store, self.settings, self.env = store, settings, env
        self.report, self.progress = report, progress
        self.outstanding: set[int] = set()  # claimed ids of the batch not yet recorded
        self.renewed = 0.0  # time.monotonic() of the last lease renewal
        self.worker_id = holders.worker_id()
        self.rng = random.Random()
        self.commits = GroupCommit(store)
        self.lease = settings.claim_lease  # read once: a setting made on first read
        limits = StageLimits.from_stage_timeout(settings.stage_timeout.total_seconds())
        self.routes = RouteCouriers(env, on_idle=self.commits.commit_when_idle,
                                    before_quit=self.commits.commit, accounts=accounts,
                                    limits=limits)
        #: Guards what the routes' threads share: ``outstanding``, the report, renewal.
        self.lock = threading.RLock()
        self.lanes = RouteLanes(self._deliver_route, self._give_up_route)

    def close(self, *, aborted: bool = False) -> None:
        """Wait for every route (renewing leases), commit what is pending, then QUIT
        every connection.  *aborted*: the flush is failing; routes send no further mail."""
        try:
            if stopping.abandoned():
                self.lanes.abandon()  # a second stop signal: leave the mail on the wire now
            elif aborted:
                self.lanes.stop()
            else:
                self.lanes.wait_until_idle(self._tick)
                self.lanes.join()
        except BaseException:
            self.lanes.stop()
            raise
        finally:
            if self.lanes.finished():
                self.routes.close()
            else:  # interrupted again while a route was sending: no QUIT into its DATA
                self.commits.commit()

    def deliver_batch(self, batch: list[ClaimedMessage]) -> None:
        """Hand each route's share of *batch* to the route's thread (``route_lanes``);
        return once the routes are ready for more, or stuck on a slow server."""
        from smtpq.queue.flush.routes import RouteKey

        groups: dict[RouteKey, list[ClaimedMessage]] = {}
        for message in batch:
            groups.setdefault(RouteKey.of(message), []).append(message)
        with self.lock:
            if not self.outstanding:
                self.renewed = time.monotonic()  # claim_due just set the leases
            self.outstanding |= {m.id for m in batch}
        for key, messages in groups.items():
            self.lanes.hand(key, messages)
        self.lanes.wait_for_room(lambda: len(self.outstanding), self._tick)

    def wait_for_more(self, claim: Callable[[], list[ClaimedMessage]]) -> list[ClaimedMessage]:
        """Nothing more was due: while some route is still at work (a slow or stalled
        server), look for newly due mail every second, so that it need not wait for
        that route; [] once every route is done and nothing is due."""
        while not self.lanes.wait_until_idle(self._tick, at_most=MORE_MAIL_POLL):
            if batch := claim():
                return batch
        return claim()

    def _deliver_route(self, key: RouteKey, messages: list[ClaimedMessage]
                       ) -> DeliveryOutcome | None:
        """In the route's thread: deliver *messages*; a missed stage deadline, if any."""
        from smtpq.queue.flush.route_delivery import deliver_route

        try:
            if stopping.requested():
                return None  # asked to stop: this share is given back
            timed_out = deliver_route(self, key, messages)
        except ClaimsLost:
            self._claims_lost()
            return None
        # The route may now wait for its next batch (or another route's server) for
        # long: its verdicts must not wait with it.
        self.commits.commit()
        return timed_out

    def _give_up_route(self, key: RouteKey, messages: list[ClaimedMessage],
                       timed_out: DeliveryOutcome) -> None:
        from smtpq.queue.flush.route_delivery import record_timed_out

        record_timed_out(self, key, messages, timed_out)

    def _tick(self) -> None:
        """While the claim loop waits for the routes: renew the leases."""
        try:
            self.renew()
        except ClaimsLost:
            self._claims_lost()

    def _claims_lost(self) -> None:
        # Another flusher took over (we stalled past the lease): send nothing more of
        # what we claimed; what we still hold is requeued when its lease runs out.
        with self.lock:
            self.outstanding = set()
        self.lanes.drop_backlogs()

    def keep_feeding(self, message: ClaimedMessage) -> bool:
        """Whether *message* may still go: its claim is held and the flush not aborted."""
        return not self.lanes.aborting and message.id in self.outstanding

    def renew(self) -> None:
        """Extend the leases of every message of the batch not yet done: while one route
        is slow (a long upload, connection retries), the others' claims must not lapse,
        or a flusher on another host would take them and send them twice.

        Renewed once a third of the lease has passed (a row update per message is
        not free); raises ``ClaimsLost`` when some claim lapsed and was taken over.
        """
        with self.lock:
            if (not self.outstanding
                    or time.monotonic() - self.renewed < self.lease.total_seconds() / 3):
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
        with the next group commit (from any route's thread)."""
        if stopping.abandoned():
            return  # the flush left this mail on the wire: it is given back, not judged
        with self.lock:
            self._record(message, verdict)
        self.lanes.progressed()

    def _record(self, message: ClaimedMessage, verdict: Verdict) -> None:
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
        self.report.events.append(from_verdict(message, verdict, decision.status))
        if decision.status is MessageStatus.SENT:
            self.report.last_sent = now
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


__all__ = ["BATCH", "ClaimsLost", "FlushReport", "FlushRequest", "Progress", "Rounds", "Worker",
           "newer_mail"]
