"""The SQL of the flush's leases: claiming due mail, renewing, releasing and taking back claims.

Each function runs inside the caller's transaction (``SqlStore`` opens it).
A claim moves due mail to ``sending`` under a lease (``claim_expires``) and
the claimer's name (``claimed_by``); on PostgreSQL it is also stamped with the
claiming process's session key (``claim_token``, ``claim_session``), and each
claim first takes back the mail of sessions that are gone
(``smtpq.queue.store.sql.liveness``, imported only there: SQLite has no session,
the per-host flush lock proves liveness).

Lock order (PostgreSQL, see ``store.sql.store``): the ``messages`` rows, in id
order, selected ``FOR NO KEY UPDATE SKIP LOCKED``: concurrent flushers take
different messages instead of waiting for each other, and a sweep leaves a row
someone is finishing right now.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, func, select, update

from smtpq.queue.records import ClaimedMessage
from smtpq.queue.states import CLAIMABLE, MessageStatus
from smtpq.queue.store.sql import reads as sql_reads
from smtpq.queue.store.sql.engine import is_sqlite
from smtpq.queue.store.sql.models import messages
from smtpq.queue.store.sql.verdicts import RELEASED

if TYPE_CHECKING:
    from sqlalchemy import Select

    from smtpq.queue.store.sql.liveness import ClaimSession

M = messages.c


def claim(c: Connection, now: datetime, *, limit: int, worker_id: str, lease: timedelta,
          token: int | None, account: str | None, ids: Collection[int] | None,
          ignore_backoff: bool, after_id: int) -> list[ClaimedMessage]:
    """Move up to *limit* due messages, oldest first, to ``sending`` for *worker_id*."""
    # PostgreSQL: a dead worker's mail first (its session is gone), taken back
    # and claimable by this very claim even below *after_id* (it was never ours).
    freed = _take_back_dead(c, now) if token is not None else []
    newer = M.id > after_id
    query = _due(select(M.id).where(newer | M.id.in_(freed) if freed else newer)
                 .order_by(M.id).limit(limit),
                 now, account=account, ids=ids, ignore_backoff=ignore_backoff)
    # Concurrent flushers skip each other's rows instead of queueing behind them.
    query = query.with_for_update(skip_locked=True, key_share=True)
    chosen = list(c.execute(query).scalars())
    if not chosen:
        return []
    c.execute(update(messages).where(M.id.in_(chosen), M.status.in_(CLAIMABLE)).values(
        status=MessageStatus.SENDING, claimed_by=worker_id, claim_expires=now + lease,
        claim_token=token))
    return sql_reads.load_claimed(c, chosen)


def claim_session(session: ClaimSession | None, engine: Engine,
                  lease: timedelta) -> ClaimSession:
    """This process's liveness session (PostgreSQL): *session* while it lives, else a new one."""
    from smtpq.queue.store.sql.liveness import ClaimSession

    if session is not None and session.pid == os.getpid() and not session.alive():
        session.close()  # broken (a server restart): a new session, a new key
        session = None
    if session is None or session.pid != os.getpid():  # a forked child: its own
        session = ClaimSession(engine, lease)
    return session


def _take_back_dead(c: Connection, now: datetime) -> list[int]:
    """Queue again, due now, the mail of workers whose session is gone; their ids."""
    from smtpq.queue.store.sql.liveness import dead_claims

    return _requeue_claims(c, dead_claims(), now)


def _requeue_claims(c: Connection, which: Any, now: datetime) -> list[int]:
    # A row locked now is being finished by its flusher (or taken back by
    # another sweep): leave it, the next sweep sees the outcome.
    query = select(M.id).where(which).order_by(M.id).with_for_update(
        skip_locked=True, key_share=True)
    ids = list(c.execute(query).scalars())
    for batch in sql_reads.batches(ids):
        # Due at once, with the deferral count untouched: the flusher
        # died, the server never said anything about this message.
        c.execute(update(messages).where(M.id.in_(batch), which).values(
            status=MessageStatus.QUEUED, next_attempt=now, **RELEASED))
    return ids


def count_due(c: Connection, now: datetime, *, account: str | None,
              ids: Collection[int] | None, ignore_backoff: bool) -> int:
    """How many messages ``claim`` would hand out now (one COUNT)."""
    query = _due(select(func.count()).select_from(messages), now, account=account, ids=ids,
                 ignore_backoff=ignore_backoff)
    return int(c.execute(query).scalar_one())


def renew(c: Connection, ids: Collection[int], *, worker_id: str, until: datetime) -> int:
    """Extend *worker_id*'s leases on *ids*; how many it still held."""
    result = c.execute(update(messages).where(
        M.id.in_(list(ids)), M.status == MessageStatus.SENDING, M.claimed_by == worker_id,
    ).values(claim_expires=until))
    return result.rowcount


def reclaim_expired(c: Connection, now: datetime) -> list[int]:
    """Queue again the mail whose lease ran out (PostgreSQL: or whose session is gone)."""
    lapsed = (M.status == MessageStatus.SENDING) & (M.claim_expires < now)
    if not is_sqlite(c):
        from smtpq.queue.store.sql.liveness import dead_claims

        lapsed = lapsed | dead_claims()  # a dead session's claims need no lease
    return _requeue_claims(c, lapsed, now)


def claim_holders(c: Connection) -> list[str]:
    """The distinct ``claimed_by`` of the messages being sent."""
    return list(c.execute(select(M.claimed_by).distinct().where(
        M.status == MessageStatus.SENDING, M.claimed_by.is_not(None))
        .order_by(M.claimed_by)).scalars())


def release_claims(c: Connection, holders: Collection[str], now: datetime, *,
            ids: Collection[int] | None) -> list[int]:
    """Queue again, due at *now*, the mail claimed by one of *holders* (only *ids*); their ids."""
    held = (M.status == MessageStatus.SENDING) & M.claimed_by.in_(list(holders))
    query = select(M.id).where(held).order_by(M.id).with_for_update(
        skip_locked=True, key_share=True)  # a row locked now is being recorded
    if ids is not None:
        query = query.where(M.id.in_(list(ids)))
    chosen = list(c.execute(query).scalars())
    for batch in sql_reads.batches(chosen):
        # Due at once, the deferral count untouched: no server said anything.
        c.execute(update(messages).where(M.id.in_(batch), held).values(
            status=MessageStatus.QUEUED, next_attempt=now, **RELEASED))
    return chosen


def _due(query: Select[Any], now: datetime, *, account: str | None,
         ids: Collection[int] | None, ignore_backoff: bool) -> Select[Any]:
    """*query* narrowed to the messages a flush may take now (``claim``, ``count_due``)."""
    query = query.where(M.status.in_(CLAIMABLE))
    if not ignore_backoff:
        query = query.where(M.next_attempt <= now)
    if account is not None:
        query = query.where(M.account == account)
    if ids is not None:
        query = query.where(M.id.in_(list(ids)))
    return query
