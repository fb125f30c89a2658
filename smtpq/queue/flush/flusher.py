"""The flusher: one flush of the queue under the per-host lock (``run_flush``), journaled.

One flusher per queue at a time (``lock``; a second one returns at once),
draining in this process (``worker``) or, with ``parallel_connections``, in
worker processes of its own (``parallel``): the flusher chooses the drain.
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

Before it leaves, the flusher counts the due mail once more from the start
of the queue: a mail whose ``next_attempt`` was stamped before its commit (or,
on PostgreSQL, whose id was committed after a higher one) can fall below the
ids it walked; when more is due than it released itself, it walks again.

Stopping (``stopping``): on SIGINT/SIGTERM the flusher pulls no more mail,
records every outcome, gives back the claims it has not started (queued, due
at once, no back-off consumed) and reports ``interrupted``.  Killed instead:
on SQLite the next flusher, which holds the per-host lock, takes back at once
the claims of every flusher of this host that is gone (``holders``); the
lease stays for claims of other hosts (a shared server database).
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Mapping
from datetime import UTC, datetime

from smtpq.queue.flush import stopping
from smtpq.queue.flush.events import UNREACHABLE
from smtpq.queue.flush.lock import (
    adopt_lock,
    lock_path,
    refuse_foreign_holder,
    release,
    stamped_holder,
    try_lock,
)
from smtpq.queue.flush.trigger import start_background_flush
from smtpq.queue.flush.worker import FlushReport, FlushRequest, Progress, Rounds, newer_mail
from smtpq.queue.records import FlushRunEnd
from smtpq.queue.settings import AfterEnqueue, QueueSettings
from smtpq.queue.store.interface import QueueStore
from smtpq.queue.store.sql.store import open_store

#: How long a background flusher waits for more mail before it lets the lock go.
BACKGROUND_LINGER = 1.0


def run_flush(settings: QueueSettings, request: FlushRequest, *, env: Mapping[str, str],
              progress: Progress | None = None) -> FlushReport:
    """Flush the queue at ``settings.database`` under the per-host lock."""
    path = lock_path(settings.database, env)
    fd = adopt_lock(request.lock_fd) if request.lock_fd is not None else try_lock(path)
    if fd is None:
        refuse_foreign_holder(path, thorough=True)  # another user's lock is never a silent skip
        return FlushReport(skipped=True, holder=stamped_holder(path))
    report = FlushReport()
    try:
        with open_store(settings.database,
                        keep_sent_content=settings.keep_sent_content) as store:
            run_id = store.begin_flush_run(socket.gethostname(), os.getpid(), _now())
            try:
                _flush_rounds(store, _rounds(store, settings, request, env, report, progress),
                              fd, path)
            except stopping.Abandoned:
                pass  # a second stop signal outside a delivery: nothing was on the wire
            finally:
                report.interrupted = report.interrupted or stopping.requested()
                _journaled(store, run_id, report, request.note)
    except stopping.Abandoned:
        report.interrupted = True
    return report


def _rounds(store: QueueStore, settings: QueueSettings, request: FlushRequest,
            env: Mapping[str, str], report: FlushReport, progress: Progress | None) -> Rounds:
    """The flush's rounds, draining in ``parallel_connections`` processes when asked to."""
    rounds = Rounds(store, settings, request, env, report, progress)
    if (workers := settings.parallel_connections) > 1:
        # Only now: multiprocessing and ctypes cost a flusher 10 ms to load.
        from smtpq.queue.flush.parallel import drain_in_parallel

        rounds.drain = lambda after_id: drain_in_parallel(rounds, after_id, workers)
    return rounds


def _flush_rounds(store: QueueStore, rounds: Rounds, fd: int, path: str) -> None:
    """Deliver under the lock *fd*, then take it again for mail that came meanwhile."""
    request, report = rounds.request, rounds.report
    try:
        rounds.tidy()
        if rounds.progress is not None:
            report.due = store.count_due(_now(), account=request.account, ids=request.ids,
                                         ignore_backoff=request.ignore_backoff)
    except BaseException:
        release(fd)
        raise
    seen = floor = 0
    walked_again = -1  # report.attempted when the queue was last walked from its start
    while True:
        try:
            seen = max(rounds.run(seen), floor)
        finally:
            release(fd)
        if stopping.requested():
            return  # the user asked us to stop: the next flush takes the rest
        # Mail enqueued while we held the lock: the enqueuer left it to us.
        newer = newer_mail(store, seen, request)
        if newer is None and walked_again != report.attempted and _left_behind(store, request,
                                                                               report):
            walked_again, newer, seen = report.attempted, 0, 0  # walk again from the start
        if newer is None:
            store.reclaim_space()  # of the sent content this run dropped (queue.space)
            _hand_off(store, rounds.settings, request, rounds.env, seen)
            return
        if (again := try_lock(path)) is None:
            return  # another flusher took over, and with it that mail
        fd, floor = again, newer  # taken now, or not ours to take: either way, look past it next


def _left_behind(store: QueueStore, request: FlushRequest, report: FlushReport) -> bool:
    """Whether more mail is due now than this flush released (an unreachable server):
    some fell below the ids it walked (stamped before its commit, or committed late)."""
    if request.ids is not None:
        return False  # only the messages named
    return store.count_due(_now(), account=request.account) > report.unreachable


def _journaled(store: QueueStore, run_id: int, report: FlushReport,
               remark: str | None) -> FlushReport:
    """Finish the run's entry in the flush journal (``smtpq status``), its note ending
    with *remark*; *report*."""
    offline = next((e.reason for e in report.events if e.kind == UNREACHABLE), None)
    note = "interrupted" if report.interrupted else (
        f"offline: {offline}" if offline is not None else None)
    note = "; ".join(part for part in (note, remark) if part) or None
    store.finish_flush_run(run_id, FlushRunEnd(
        _now(), report.exit_code, report.sent, report.deferred, report.failed,
        report.expired, report.unreachable, report.last_sent, note))
    return report


def _hand_off(store: QueueStore, settings: QueueSettings, request: FlushRequest,
              env: Mapping[str, str], seen: int) -> None:
    """After a flush of some mail only: start a background flush for the rest, as the
    enqueues that found our lock taken would have done."""
    if request.ids is None and request.account is None:
        return
    if settings.after_enqueue == AfterEnqueue.FLUSH and newer_mail(store, seen, FlushRequest()):
        with contextlib.suppress(OSError):  # our own flush is done; the next one takes it
            start_background_flush(settings.database, env)


def _now() -> datetime:
    return datetime.now(UTC)


#: The flush as the command line uses it: a request in, a report out.
__all__ = ["BACKGROUND_LINGER", "FlushReport", "FlushRequest", "run_flush"]
