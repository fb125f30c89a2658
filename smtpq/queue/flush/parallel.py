"""``parallel_connections = N``: one flush, N worker processes, a connection each per route.

Processes, not threads: the flush's own work (the SMTP client, recording
verdicts) holds the GIL, so threads would share one CPU.  After its
housekeeping the flusher starts N - 1 worker processes (``multiprocessing``,
forked) and works as the N-th itself.  Each claims its own batches — claims
with leases keep them apart (``BEGIN IMMEDIATE`` on SQLite, ``FOR NO KEY
UPDATE SKIP LOCKED`` on PostgreSQL) — and keeps its own connection per route,
so one server sees N connections.  To the outside it is still one flush: the
workers inherit the flusher's lock (one ``flock``'d open file description) and
end before it lets the lock go; their running counts, in memory they share
with the flusher (``multiprocessing.Array``), add up in its progress line, and
each sends its report (counts, what happened to each mail) back through a pipe
as it ends, which the flusher adds to its own: one summary, one exit status,
one entry in the flush journal.

No database connection crosses the fork (the store's pool is emptied first;
each process opens its own).  A worker whose flusher died (SIGKILL) stops
after the batch it holds; what it had claimed is then delivered and recorded,
or requeued when its lease runs out, as for any flusher.  A worker that fails
or dies is reported (``WorkerFailed``) once the others are done, and the
flusher takes back at once the claims it still held.

Stop signals (``stopping``): the flusher passes each SIGINT/SIGTERM it gets
on to its workers, which ignore those signals themselves (Ctrl-C reaches the
whole process group); each worker then stops as the flusher does and gives
back its own unstarted claims.
"""

from __future__ import annotations

import ctypes
import dataclasses
import math
import multiprocessing
import os
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from smtpq.queue.errors import WorkerFailed
from smtpq.queue.flush import holders, stopping, worker
from smtpq.queue.flush.worker import FlushReport, Rounds
from smtpq.sender.errors import SmtpqError
from smtpq.sender.sysexits import ExitCode

#: Fewer due mails per worker than this: fewer workers (starting one costs more than it gives).
MIN_SHARE = 8
#: The counts a worker shares while it runs (``FlushReport`` fields).
COUNTS = ("sent", "deferred", "failed", "expired", "unreachable", "given_back")

#: The worker processes' start method (why fork: see ``_Child``).
_FORK = multiprocessing.get_context("fork")


@dataclasses.dataclass
class _Done:
    """What a worker sends its flusher as it ends: the newest id it claimed, its report."""

    newest: int
    report: FlushReport


@dataclasses.dataclass
class _Failed:
    """A worker that failed (its error) or died (how, as the flusher saw it)."""

    message: str
    exit_code: int = ExitCode.EX_SOFTWARE


def drain_in_parallel(rounds: Rounds, after_id: int, workers: int) -> int:
    """``Rounds.drain`` with up to *workers* processes; the highest message id claimed."""
    request = rounds.request
    due = rounds.store.count_due(datetime.now(UTC), account=request.account, ids=request.ids,
                                 ignore_backoff=request.ignore_backoff)
    workers = min(workers, due // MIN_SHARE)
    if workers < 2 or stopping.requested():
        return rounds.drain_alone(after_id)
    limit = min(worker.BATCH, math.ceil(due / workers))  # every worker gets a share at once
    rounds.store.close()  # no connection crosses the fork: each process opens its own
    counts = _SharedCounts(workers)
    children: list[_Child] = []
    progress = rounds.progress
    try:
        with stopping.held():  # each stop signal reaches every worker exactly once
            for slot in range(1, workers):
                children.append(_Child(rounds, after_id, limit, counts, slot))
                stopping.forward_to([children[-1].pid])
        if progress is not None:  # the progress line counts every worker's mail
            rounds.progress = lambda m, v, r: progress(m, v, counts.added_to(r))
        newest = rounds.drain_alone(after_id, limit=limit)
    finally:
        rounds.progress = progress
        ends = [child.wait_out() for child in children]
        stopping.forget([child.pid for child in children])
    failed = [(child, end) for child, end in zip(children, ends, strict=True)
              if isinstance(end, _Failed)]
    if failed:
        _take_back(rounds, [child for child, _ in failed])
    newest = max([newest] + [_merged(rounds.report, end) for end in ends if isinstance(end, _Done)])
    if failed:
        _, first = failed[0]
        raise WorkerFailed(first.message, exit_code=first.exit_code)
    return newest


def _merged(report: FlushReport, end: _Done) -> int:
    """Add a worker's report to the flush's *report*; the newest id it claimed."""
    theirs = end.report
    for name in COUNTS:
        setattr(report, name, getattr(report, name) + getattr(theirs, name))
    report.interrupted = report.interrupted or theirs.interrupted
    report.events.extend(theirs.events)
    if theirs.last_sent is not None:
        report.last_sent = max(theirs.last_sent, report.last_sent or theirs.last_sent)
    return end.newest


def _take_back(rounds: Rounds, children: list[_Child]) -> None:
    """Queue again at once the claims that workers which failed or died still held
    (we hold the lock, and they are gone: nobody else will record them)."""
    taken = rounds.store.release_claims([child.worker_id for child in children],
                                        datetime.now(UTC))
    rounds.report.taken_back += len(taken)


class _SharedCounts:
    """Every worker's running counts, in memory the workers share with the flusher.

    Each worker writes only its own slot, and the flusher only reads them for
    its progress line: no lock."""

    def __init__(self, workers: int) -> None:
        self.values = _FORK.Array(ctypes.c_int64, len(COUNTS) * workers, lock=False)
        self.workers = workers

    def write(self, slot: int, name: str, value: int) -> None:
        self.values[slot * len(COUNTS) + COUNTS.index(name)] = value

    def added_to(self, report: FlushReport) -> FlushReport:
        totals = {name: getattr(report, name) for name in COUNTS}
        for slot in range(1, self.workers):
            for index, name in enumerate(COUNTS):
                totals[name] += self.values[slot * len(COUNTS) + index]
        return dataclasses.replace(report, **totals)


class _Child:
    """A worker process of the flush: started at once, its end read from its pipe."""

    def __init__(self, rounds: Rounds, after_id: int, limit: int, counts: _SharedCounts,
                 slot: int) -> None:
        results, sender = _FORK.Pipe(duplex=False)
        # multiprocessing, not os.fork by hand: it reaps the worker and says how it
        # ended (exitcode: the signal that killed it) and carries its report back
        # pickled; not ProcessPoolExecutor: a pool hides which process holds which
        # claims, and one death breaks every future.  The "fork" context, named
        # (Python 3.14 defaults to forkserver on Linux): the worker must inherit the
        # flusher's locked descriptor (one flush to the outside, the lock held for as
        # long as an orphaned worker runs), its settings and accounts, and start
        # without importing smtpq again.
        self.process: BaseProcess = _FORK.Process(
            target=_work, args=(rounds, after_id, limit, counts, slot, os.getpid(), sender),
            name=f"smtpq flush worker {slot}")
        try:
            self.process.start()
        finally:
            sender.close()  # the worker's end only: its exit then reads as the end of the pipe
        self.results = results
        self.pid = self.process.pid or 0
        self.worker_id = holders.worker_id(self.pid)  # as the worker names its claims
        self.end: _Done | _Failed | None = None
        self.read = False

    def wait_out(self) -> _Done | _Failed:
        """Its end, through any number of stop signals (the worker stops on its own)."""
        while True:
            try:
                return self._wait()
            except stopping.Abandoned:
                continue

    def _wait(self) -> _Done | _Failed:
        if not self.read:
            self.results.poll(None)  # its report is there, or the worker is gone
            with stopping.held():  # a signal handler raising mid-message would lose the report
                self.end = self._received()
                self.read = True
        self.process.join()
        return self.end or _Failed(
            f"flush worker {self.pid} died ({_describe(self.process.exitcode)})")

    def _received(self) -> _Done | _Failed | None:
        """What the worker sent, or None: it died before it could say how it ended."""
        try:
            end: _Done | _Failed | None = self.results.recv()
        except (EOFError, OSError):
            end = None
        self.results.close()
        return end


def _describe(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        return f"signal {-exitcode}"
    return f"exit status {exitcode}"


def _work(rounds: Rounds, after_id: int, limit: int, counts: _SharedCounts, slot: int,
          parent: int, sender: Connection) -> None:
    """The worker process: drain as one worker of the flush, then send how it ended."""
    stopping.as_worker()
    end = _drained(rounds, after_id, limit, counts, slot, parent)
    stopping.ignore()  # done: nothing is left to stop, and the report must get through
    sender.send(end)
    sender.close()


def _drained(rounds: Rounds, after_id: int, limit: int, counts: _SharedCounts, slot: int,
             parent: int) -> _Done | _Failed:
    """Drain as one worker of the flush; its newest id and report, or its error."""
    report = _SharedReport(counts, slot)
    mine = Rounds(rounds.store, rounds.settings, rounds.request, rounds.env, report, None)
    newest = 0
    try:
        newest = mine.drain_alone(after_id, limit=limit,
                                  keep_going=lambda: os.getppid() == parent)
    except stopping.Abandoned:  # a second stop while closing: what is left, the next flush takes
        report.interrupted = True
    except SmtpqError as error:
        return _Failed(error.message, int(error.exit_code))
    except BaseException as error:  # noqa: BLE001 - reported to the flusher, which raises it
        return _Failed(f"flush worker: {error!r}")
    finally:
        rounds.store.close()
    return _Done(newest, report.plain())


class _SharedReport(FlushReport):
    """A worker's report, its counts mirrored into the shared memory on every change."""

    def __init__(self, counts: _SharedCounts, slot: int) -> None:
        object.__setattr__(self, "_shared", (counts, slot))
        super().__init__()

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        if name in COUNTS:
            counts, slot = self.__dict__["_shared"]
            counts.write(slot, name, value)

    def plain(self) -> FlushReport:
        """The report alone, to send to the flusher (the shared memory stays behind)."""
        return FlushReport(**{field.name: getattr(self, field.name)
                              for field in dataclasses.fields(FlushReport)})
