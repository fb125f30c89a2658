"""The SQL of the flush journal (``flush_runs``) and of ``QueueStore.health``, for ``SqlStore``.

Each function runs inside the caller's transaction.  The journal stays small:
finishing a run deletes the runs ``KEEP_RUNS`` or more ids older (a primary
key range, so no statement scans the table).  The health reads use the ``(status, …)``
indexes of ``messages``: a count per status and the oldest pending mail.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, delete, func, insert, select, update

from smtpq.queue.records import KEEP_RUNS, FlushRun, FlushRunEnd, Holder, QueueHealth
from smtpq.queue.states import MessageStatus
from smtpq.queue.store.sql.models import flush_runs, messages

F = flush_runs.c
M = messages.c
#: Statuses whose mail is still waiting to go out.
WAITING = (MessageStatus.QUEUED, MessageStatus.DEFERRED, MessageStatus.SENDING,
           MessageStatus.HELD)


def begin_run(c: Connection, host: str, pid: int, started: datetime) -> int:
    """Journal a flush that just took the lock; its run id."""
    result = c.execute(insert(flush_runs).values(
        host=host, pid=pid, started=started, sent=0, deferred=0, failed=0, expired=0,
        unreachable=0))
    assert result.inserted_primary_key is not None
    return int(result.inserted_primary_key[0])


def finish_run(c: Connection, run_id: int, end: FlushRunEnd) -> None:
    """Record how run *run_id* ended, and forget all but the newest ``KEEP_RUNS`` runs."""
    c.execute(update(flush_runs).where(F.id == run_id).values(
        finished=end.finished, exit_code=end.exit_code, sent=end.sent, deferred=end.deferred,
        failed=end.failed, expired=end.expired, unreachable=end.unreachable,
        last_sent=end.last_sent, note=end.note))
    # Ids only grow (autoincrement), so the newest KEEP_RUNS are those above this one's
    # id minus KEEP_RUNS: a primary-key range, never a scan.
    c.execute(delete(flush_runs).where(F.id <= run_id - KEEP_RUNS))


def health(c: Connection) -> QueueHealth:
    """Counts per status, the oldest waiting mail, the newest run, the last delivery."""
    counts = {status.value: 0 for status in MessageStatus}
    for status, count in c.execute(select(M.status, func.count()).group_by(M.status)):
        counts[MessageStatus(status).value] = int(count)
    oldest = c.execute(select(func.min(M.created)).where(M.status.in_(WAITING))).scalar()
    newest = c.execute(select(flush_runs).order_by(F.id.desc()).limit(1)).first()
    sent_at = c.execute(select(func.max(M.finished))
                        .where(M.status == MessageStatus.SENT)).scalar()
    journaled = c.execute(select(func.max(F.last_sent))).scalar()
    holders = tuple(Holder(row.id, row.claimed_by, row.claim_expires) for row in c.execute(
        select(M.id, M.claimed_by, M.claim_expires)
        .where(M.status == MessageStatus.SENDING).order_by(M.id)))
    return QueueHealth(counts, oldest, None if newest is None else _run(newest),
                       _latest(sent_at, journaled), holders)


def _run(row: Row[Any]) -> FlushRun:
    return FlushRun(row.id, row.host, row.pid, row.started, row.finished, row.exit_code,
                    row.sent, row.deferred, row.failed, row.expired, row.unreachable,
                    row.last_sent, row.note)


def _latest(*moments: datetime | None) -> datetime | None:
    known = [moment for moment in moments if moment is not None]
    return max(known) if known else None
