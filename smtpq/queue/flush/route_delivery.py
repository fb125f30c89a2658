"""Delivering one route's messages over one connection, and recording each outcome.

The mails go through the courier's pipelined stream (``pipeline.deliver_all``:
the next envelope leaves with this mail's end of data, RFC 2920); small mails
came with their claim, larger ones are streamed from the store.  The
connection stays open for the route's next batch (``RouteCouriers``).  It is
opened once, with a few quick in-process retries (tenacity)
when it breaks while being set up; a server that refuses the connection or a
name that does not resolve is not retried: that is the offline case, and the
messages simply stay queued.  A failure that will hit every message of the
route alike (unreachable, TLS, authentication) is recorded for all of them
without trying each one.  So is a missed stage deadline (``StageTimeout``: the
server stalled or trickled): ``deliver_route`` returns it, and the flush gives
the route up for the rest of its run (``route_lanes``, ``record_timed_out``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import BinaryIO, Protocol

from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from smtpq.queue.flush import stopping
from smtpq.queue.flush.group_commit import GroupCommit
from smtpq.queue.flush.routes import RouteCouriers, RouteKey
from smtpq.queue.flush.verdict import Verdict, judge
from smtpq.queue.records import ClaimedMessage
from smtpq.queue.store.interface import QueueStore
from smtpq.sender.config.settings import Account
from smtpq.sender.delivery.courier import Courier, OutgoingMail
from smtpq.sender.delivery.outcome import (
    Attempt,
    DeliveryOutcome,
    FailureKind,
    Stage,
    from_error,
)
from smtpq.sender.delivery.pipeline import deliver_all
from smtpq.sender.delivery.report import write_log
from smtpq.sender.errors import (
    NetworkError,
    ProtocolError,
    ServerRejection,
    SmtpqError,
    StageTimeout,
)
from smtpq.sender.sysexits import ExitCode

#: Failures that every message of the route would meet in the same way.
ROUTE_WIDE = frozenset({FailureKind.HOST_NOT_FOUND, FailureKind.CONNECT_FAILED,
                        FailureKind.TLS_FAILED, FailureKind.LOCAL_ERROR,
                        FailureKind.PROTOCOL_ERROR})


class RouteWorker(Protocol):
    """What delivering a route needs of the flush worker running it (``worker.Worker``)."""

    store: QueueStore
    commits: GroupCommit
    routes: RouteCouriers

    def renew(self) -> None:
        """Renew this worker's claims when their lease is half gone."""

    def keep_feeding(self, message: ClaimedMessage) -> bool:
        """Whether *message* may still go out (its claim held, the flush not ending)."""

    def record(self, message: ClaimedMessage, verdict: Verdict) -> None:
        """Record *message*'s verdict (group-committed)."""


def deliver_route(worker: RouteWorker, key: RouteKey,
                  messages: list[ClaimedMessage]) -> DeliveryOutcome | None:
    """Send *messages* (same route) through the route's connection, recording each
    verdict; the outcome of a missed stage deadline, which ended the route, if any."""
    try:
        account = worker.routes.account(key, messages[0].envelope_from)
    except SmtpqError as error:
        _record_all(worker, messages, _unresolved(error), None)
        return None
    courier = worker.routes.courier(key, account)
    worker.renew()  # opening may take a while (retries, timeouts)
    if not courier.connected:
        worker.commits.commit()  # nothing waits uncommitted while we connect
        early = _open(courier, account, messages[0])
        if early is not None:
            _record_all(worker, messages, early, account)
            return early if timed_out(early) else None
    return _send_all(worker, courier, account, messages)


def record_timed_out(worker: RouteWorker, key: RouteKey,
                     messages: list[ClaimedMessage], outcome: DeliveryOutcome) -> None:
    """Record *messages* of a route that missed a stage deadline earlier in this flush
    with that failure, without connecting again (its server stalls: RFC 5321 §4.5.3.2)."""
    try:
        account = worker.routes.account(key, messages[0].envelope_from)
    except SmtpqError as error:
        _record_all(worker, messages, _unresolved(error), None)
        return
    _record_all(worker, messages, outcome, account)


def timed_out(outcome: DeliveryOutcome) -> bool:
    """Whether *outcome* is a missed stage deadline (the route's server stalled)."""
    return isinstance(outcome.error, StageTimeout)


def _send_all(worker: RouteWorker, courier: Courier, account: Account,
              messages: list[ClaimedMessage]) -> DeliveryOutcome | None:
    """One outcome per message from the pipelined stream, recorded in order."""
    feed = _Feed(worker, messages)
    outcomes = deliver_all(courier, feed)
    try:
        for index, outcome in enumerate(outcomes):
            message = messages[index]
            _record(worker, message, outcome, account)
            if _route_wide(outcome, courier):
                _record_all(worker, messages[index + 1:], outcome, account)
                return outcome if timed_out(outcome) else None
    finally:
        outcomes.close()
        feed.close()
    feed.raise_if_stopped()
    return None


class _Feed:
    """The mails of *messages*, in order, for the courier; lease renewal between mails.

    This is the one place the next mail is pulled: a stop signal (``stopping``)
    ends the feed here.  When a claim was lost (``ClaimsLost``) or the content
    cannot be read, it stops feeding, so that the mails already on their way are still answered
    and recorded, and ``raise_if_stopped`` raises afterwards.
    """

    def __init__(self, worker: RouteWorker, messages: list[ClaimedMessage]) -> None:
        self.worker, self.messages = worker, messages
        self.stopped: BaseException | None = None
        self._opened: list[BinaryIO] = []

    def __iter__(self) -> Iterator[OutgoingMail]:
        for message in self.messages:
            self.close()  # the content of the mail before was sent whole
            if stopping.requested() or not self.worker.keep_feeding(message):
                return  # asked to stop, claims lost, or the flush is ending: no more go
            try:
                self.worker.renew()
                content = self._content(message)
            except Exception as error:  # noqa: BLE001 - raised by raise_if_stopped
                self.stopped = error
                return
            yield OutgoingMail(message.envelope_from, [r.address for r in message.recipients],
                               content, size=message.size)

    def _content(self, message: ClaimedMessage) -> BinaryIO | list[bytes]:
        if message.content is not None:  # small: it came with the claim
            return [message.content]
        stream = self.worker.store.open_content(message.id)
        self._opened.append(stream)
        return stream

    def close(self) -> None:
        opened, self._opened = self._opened, []
        for stream in opened:
            stream.close()

    def raise_if_stopped(self) -> None:
        if self.stopped is not None:
            raise self.stopped


def _open(courier: Courier, account: Account, first: ClaimedMessage) -> DeliveryOutcome | None:
    """Open the connection (a few quick retries); the failure as an outcome, or None."""
    started = time.time()
    try:
        for attempt in Retrying(stop=stop_after_attempt(3), reraise=True,
                                wait=wait_exponential(multiplier=0.25, max=1),
                                retry=retry_if_exception(_worth_retrying)):
            with attempt:
                courier.open()
    except SmtpqError as error:
        stage = Stage.AUTH if courier.stage is Stage.AUTH else Stage.CONNECT
        facts = Attempt(account, first.envelope_from,
                        tuple(r.address for r in first.recipients), started, time.time())
        return from_error(facts, error, stage)
    return None


def _worth_retrying(error: BaseException) -> bool:
    """A connection that broke while being set up (not refused, not unresolvable)."""
    if isinstance(error, NetworkError):
        return error.exit_code == ExitCode.EX_IOERR
    if isinstance(error, ServerRejection):
        return error.smtp_status == 421  # RFC 5321 §3.8: service shutting down
    return isinstance(error, ProtocolError) and not error.smtp_status


def _route_wide(outcome: DeliveryOutcome, courier: Courier) -> bool:
    if timed_out(outcome):
        return True  # the server stalls: the next mail would wait as long
    return outcome.failure in ROUTE_WIDE and outcome.mailsize == 0 and not courier.connected


def _record(worker: RouteWorker, message: ClaimedMessage, outcome: DeliveryOutcome,
            account: Account | None) -> None:
    if account is not None:
        write_log(account, outcome)  # the account's logfile/syslog, as msmtp
    worker.record(message, judge(outcome, message.recipients))


def _record_all(worker: RouteWorker, messages: list[ClaimedMessage],
                outcome: DeliveryOutcome | Callable[[ClaimedMessage], DeliveryOutcome],
                account: Account | None) -> None:
    """Record the same failure for every message, each with its own envelope in the log line."""
    for message in messages:
        _record(worker, message, _for_message(outcome, message, account), account)


def _for_message(outcome: DeliveryOutcome | Callable[[ClaimedMessage], DeliveryOutcome],
                 message: ClaimedMessage, account: Account | None) -> DeliveryOutcome:
    if callable(outcome):
        return outcome(message)
    if outcome.error is None or account is None:
        return outcome
    stage = Stage.AUTH if outcome.failure is FailureKind.LOCAL_ERROR else Stage.CONNECT
    facts = Attempt(account, message.envelope_from, tuple(r.address for r in message.recipients),
                    outcome.started, outcome.finished)
    return from_error(facts, outcome.error, stage)


def _unresolved(error: SmtpqError) -> Callable[[ClaimedMessage], DeliveryOutcome]:
    """The outcome for messages whose account cannot be resolved (fixable: retried later)."""
    def outcome(message: ClaimedMessage) -> DeliveryOutcome:
        now = time.time()
        facts = Attempt(Account(), message.envelope_from,
                        tuple(r.address for r in message.recipients), now, now)
        return from_error(facts, error, Stage.AUTH)  # AUTH stage: a local, fixable error
    return outcome
