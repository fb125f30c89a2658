"""``parallel_connections = N``: one flush, N worker processes, a connection each per route.

Processes, not threads: the flush's own work (the SMTP client, recording
verdicts) holds the GIL, so threads would share one CPU.  After its
housekeeping the flusher forks N - 1 children and works as the N-th itself.
Each claims its own batches — claims with leases keep them apart (``BEGIN
IMMEDIATE`` on SQLite, ``FOR NO KEY UPDATE SKIP LOCKED`` on PostgreSQL) —
and keeps its own connection per route, so one server sees N connections.
To the outside it is still one flush: the children inherit the flusher's
lock (one ``flock``'d open file description) and end before it lets the lock
go; their counts add up in its report (and its progress line).

No database connection crosses the fork (the store's pool is emptied first;
each process opens its own).  A child whose flusher died (SIGKILL) stops
after the batch it holds; what it had claimed is then delivered and recorded,
or requeued when its lease runs out, as for any flusher.

Stop signals (``stopping``): the flusher passes each SIGINT/SIGTERM it gets
on to its workers, which ignore those signals themselves (Ctrl-C reaches the
whole process group); each worker then stops as the flusher does and gives
back its own unstarted claims.
"""

from __future__ import annotations

import dataclasses
import json
import math
import mmap
import os
import struct
from datetime import UTC, datetime
from typing import Any

from smtpq.queue.errors import WorkerFailed
from smtpq.queue.flush import stopping
from smtpq.queue.flush import worker as flush
from smtpq.queue.flush.events import FlushEvent
from smtpq.queue.flush.worker import FlushReport, Rounds
from smtpq.sender.errors import SmtpqError
from smtpq.sender.sysexits import ExitCode

#: Fewer due mails per worker than this: fewer workers (forking costs more than it gives).
MIN_SHARE = 8
#: The counts a worker reports (``FlushReport`` fields).
COUNTS = ("sent", "deferred", "failed", "expired", "unreachable", "given_back")
_SLOT = struct.Struct(f"{len(COUNTS)}q")


def drain_in_parallel(rounds: Rounds, after_id: int, workers: int) -> int:
    """``Rounds.drain`` with up to *workers* processes; the highest message id claimed."""
    request = rounds.request
    due = rounds.store.count_due(datetime.now(UTC), account=request.account, ids=request.ids,
                                 ignore_backoff=request.ignore_backoff)
    workers = min(workers, due // MIN_SHARE)
    if workers < 2 or stopping.requested():
        return rounds.drain_alone(after_id)
    limit = min(flush.BATCH, math.ceil(due / workers))  # every worker gets a share at once
    rounds.store.close()  # no connection crosses the fork: each process opens its own
    counts = _SharedCounts(workers)
    with stopping.held():  # each stop signal reaches every worker exactly once
        children = [_start_child(rounds, after_id, limit, counts, slot)
                    for slot in range(1, workers)]
        stopping.forward_to([child.pid for child in children])
    progress = rounds.progress
    if progress is not None:  # the progress line counts every worker's mail
        rounds.progress = lambda m, v, r: progress(m, v, counts.added_to(r))
    try:
        newest = rounds.drain_alone(after_id, limit=limit)
    finally:
        rounds.progress = progress
        outcomes = [child.wait_out() for child in children]
        stopping.forget([child.pid for child in children])
    return max([newest] + [_merged(rounds.report, outcome) for outcome in outcomes])


def _merged(report: FlushReport, outcome: dict[str, Any]) -> int:
    """Add a child's counts to *report*; its newest id (raises its error)."""
    if "error" in outcome:
        raise WorkerFailed(outcome["error"], exit_code=outcome["exit_code"])
    for name in COUNTS:
        setattr(report, name, getattr(report, name) + outcome[name])
    report.interrupted = report.interrupted or bool(outcome.get("interrupted"))
    report.events.extend(FlushEvent(**event) for event in outcome.get("events", ()))
    if outcome.get("last_sent"):
        last = datetime.fromisoformat(outcome["last_sent"])
        report.last_sent = max(last, report.last_sent or last)
    return int(outcome["newest"])


class _SharedCounts:
    """Every child's running counts, in memory the children share with the flusher."""

    def __init__(self, workers: int) -> None:
        self.memory = mmap.mmap(-1, _SLOT.size * workers)  # anonymous, MAP_SHARED
        self.workers = workers

    def write(self, slot: int, report: FlushReport) -> None:
        _SLOT.pack_into(self.memory, slot * _SLOT.size, *(getattr(report, n) for n in COUNTS))

    def added_to(self, report: FlushReport) -> FlushReport:
        totals = [getattr(report, name) for name in COUNTS]
        for slot in range(1, self.workers):
            for index, value in enumerate(_SLOT.unpack_from(self.memory, slot * _SLOT.size)):
                totals[index] += value
        return dataclasses.replace(report, **dict(zip(COUNTS, totals, strict=True)))


class _Child:
    """A forked worker: its pid and the pipe its result comes through."""

    def __init__(self, pid: int, result_fd: int) -> None:
        self.pid, self.result_fd = pid, result_fd
        self.chunks: list[bytes] = []
        self.status: int | None = None

    def wait_out(self) -> dict[str, Any]:
        """``wait``, through any number of stop signals (the worker stops on its own)."""
        while True:
            try:
                return self.wait()
            except stopping.Abandoned:
                continue

    def wait(self) -> dict[str, Any]:
        if self.result_fd >= 0:
            while chunk := os.read(self.result_fd, 65536):
                self.chunks.append(chunk)
            os.close(self.result_fd)
            self.result_fd = -1
        if self.status is None:
            self.status = os.waitpid(self.pid, 0)[1]
        status = self.status
        if self.chunks:
            return dict(json.loads(b"".join(self.chunks)))
        return {"error": f"flush worker {self.pid} died ({_describe(status)})",
                "exit_code": ExitCode.EX_SOFTWARE}


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"signal {os.WTERMSIG(status)}"
    return f"exit status {os.waitstatus_to_exitcode(status)}"


def _start_child(rounds: Rounds, after_id: int, limit: int, counts: _SharedCounts,
                 slot: int) -> _Child:
    read_fd, write_fd = os.pipe()
    parent = os.getpid()
    pid = os.fork()
    if pid:
        os.close(write_fd)
        return _Child(pid, read_fd)
    os.close(read_fd)  # the child, from here on: never returns
    stopping.as_worker()
    os.write(write_fd, json.dumps(_child_work(rounds, after_id, limit, counts, slot, parent))
             .encode())
    os._exit(0)


def _child_work(rounds: Rounds, after_id: int, limit: int, counts: _SharedCounts, slot: int,
                parent: int) -> dict[str, Any]:
    """Drain as one worker of the flush; its counts and newest id, or its error."""
    report = _SharedReport(counts, slot)
    mine = Rounds(rounds.store, rounds.settings, rounds.request, rounds.env, report, None)
    try:
        newest = mine.drain_alone(after_id, limit=limit,
                                  keep_going=lambda: os.getppid() == parent)
    except stopping.Abandoned:  # a second stop while closing: what is left, the next flush takes
        return {"newest": 0, "interrupted": True, **{n: getattr(report, n) for n in COUNTS}}
    except SmtpqError as error:
        return {"error": error.message, "exit_code": int(error.exit_code)}
    except BaseException as error:  # noqa: BLE001 - reported to the flusher, which raises it
        return {"error": f"flush worker: {error!r}", "exit_code": ExitCode.EX_SOFTWARE}
    finally:
        rounds.store.close()
    return {"newest": newest, "interrupted": report.interrupted,
            **{name: getattr(report, name) for name in COUNTS},
            "events": [event.as_dict() for event in report.events],
            "last_sent": report.last_sent.isoformat() if report.last_sent else None}


class _SharedReport(FlushReport):
    """A child's report, mirrored into the shared counts on every change."""

    def __init__(self, counts: _SharedCounts, slot: int) -> None:
        object.__setattr__(self, "_shared", (counts, slot))
        super().__init__()

    def __setattr__(self, name: str, value: object) -> None:
        object.__setattr__(self, name, value)
        if name in COUNTS:
            counts, slot = self.__dict__["_shared"]
            counts.write(slot, self)
