"""What the management commands change, and the flush's sweeps of old mail (expire, prune).

Each function runs inside the caller's transaction (``SqlStore`` opens it) and
returns what it changed.  Lock order (PostgreSQL, see ``store.sql.store``):
the ``messages`` rows first, in id order, then their children (recipients,
attempts, chunks).  A command waits for a row another transaction holds (a
claim in progress), then re-checks it; the flush's sweeps (``expire_old``,
``prune_sent``), which every flusher runs, skip such rows instead.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, select, update

from smtpq.queue.records import Route
from smtpq.queue.states import (
    CLAIMABLE,
    HOLDABLE,
    REROUTABLE,
    RETRYABLE,
    REVIVABLE,
    MessageStatus,
)
from smtpq.queue.store.rows import encode_options
from smtpq.queue.store.sql import reads as sql_reads
from smtpq.queue.store.sql.models import attempts, message_chunks, messages, recipients
from smtpq.sender.delivery.outcome import RecipientStatus

M = messages.c
R = recipients.c


def purge(c: Connection, *, ids: Collection[int] | None,
          statuses: Collection[MessageStatus] | None, older_than: datetime | None) -> list[int]:
    """Delete the messages among *ids* / in *statuses* (created before *older_than*)."""
    # Never a message being sent: its flusher is streaming the chunks.  The
    # rows are locked (waiting for a claim in progress, then re-checked), so
    # one cannot be claimed between this choice and its deletion.
    query = (select(M.id).where(M.status != MessageStatus.SENDING).order_by(M.id)
             .with_for_update())
    if ids is not None:
        query = query.where(M.id.in_(list(ids)))
    if statuses is not None:
        query = query.where(M.status.in_(list(statuses)))
    if older_than is not None:
        query = query.where(M.created < older_than)
    chosen = list(c.execute(query).scalars())
    _delete(c, chosen)
    return chosen


def retry(c: Connection, now: datetime, *, ids: Collection[int] | None) -> list[int]:
    """Queue again, due now, the messages among *ids* (None: every failed or expired one)."""
    query = (select(M.id).where(M.status.in_(RETRYABLE if ids is None else REVIVABLE))
             .order_by(M.id).with_for_update(key_share=True))
    if ids is not None:
        query = query.where(M.id.in_(list(ids)))
    chosen = list(c.execute(query).scalars())
    for batch in sql_reads.batches(chosen):
        _requeue(c, batch, now)
    return chosen


def hold(c: Connection, ids: Collection[int]) -> list[int]:
    """Hold the messages among *ids* that may be held."""
    # Locked like a claim: a flusher claiming it now either wins (the mail
    # is sending and stays so) or finds it held.
    chosen = _lock_in(c, ids, HOLDABLE)
    for batch in sql_reads.batches(chosen):
        c.execute(update(messages).where(M.id.in_(batch), M.status.in_(HOLDABLE))
                  .values(status=MessageStatus.HELD))
    return chosen


def release(c: Connection, now: datetime, ids: Collection[int]) -> list[int]:
    """Queue again, due now, the held messages among *ids*."""
    held = (MessageStatus.HELD,)
    chosen = _lock_in(c, ids, held)
    for batch in sql_reads.batches(chosen):
        c.execute(update(messages).where(M.id.in_(batch), M.status.in_(held)).values(
            status=MessageStatus.QUEUED, next_attempt=now, queued_at=now))
    return chosen


def reroute(c: Connection, now: datetime, routes: Mapping[int, Route]) -> list[int]:
    """Give each message its new route and queue it again, due now."""
    chosen = _lock_in(c, routes, REROUTABLE)
    for message_id in chosen:
        route = routes[message_id]
        c.execute(update(messages).where(M.id == message_id).values(
            account=route.account, options=encode_options(route.options)))
    for batch in sql_reads.batches(chosen):
        _requeue(c, batch, now, REROUTABLE)
    return chosen


def prune_sent(c: Connection, now: datetime, keep_sent: timedelta) -> int:
    """Delete the mail sent more than *keep_sent* ago; how many."""
    # Every flusher prunes: each takes the rows no other one holds.
    query = (select(M.id).where(M.status == MessageStatus.SENT, M.finished < now - keep_sent)
             .order_by(M.id).with_for_update(skip_locked=True))
    chosen = list(c.execute(query).scalars())
    _delete(c, chosen)
    return len(chosen)


def expire_old(c: Connection, now: datetime, max_age: timedelta) -> list[int]:
    """Expire the mail still waiting after *max_age* in the queue; its ids."""
    old = M.status.in_(CLAIMABLE) & (M.queued_at <= now - max_age)
    query = select(M.id).where(old).order_by(M.id).with_for_update(
        skip_locked=True, key_share=True)  # a row locked now is being claimed
    ids = list(c.execute(query).scalars())
    for batch in sql_reads.batches(ids):
        c.execute(update(messages).where(M.id.in_(batch), old).values(
            status=MessageStatus.EXPIRED, finished=now, next_attempt=None))
    return ids


def _lock_in(c: Connection, ids: Collection[int],
             statuses: Sequence[MessageStatus]) -> list[int]:
    """Lock the messages among *ids* that are in *statuses*, in id order; their ids."""
    chosen: list[int] = []
    for batch in sql_reads.batches(sorted(set(ids))):
        chosen += c.execute(select(M.id).where(M.id.in_(batch), M.status.in_(statuses))
                            .order_by(M.id).with_for_update(key_share=True)).scalars()
    return chosen


def _requeue(c: Connection, ids: Sequence[int], now: datetime,
             statuses: Sequence[MessageStatus] = REVIVABLE) -> None:
    # A retried message starts afresh: due now, no back-off, max_age from now.
    c.execute(update(messages).where(M.id.in_(ids), M.status.in_(statuses)).values(
        status=MessageStatus.QUEUED, next_attempt=now, queued_at=now, deferrals=0,
        finished=None, bounced=None, warned=None))  # a new failure gets a new notice
    c.execute(update(recipients).where(
        R.message_id.in_(ids), R.status != RecipientStatus.SENT,
    ).values(status=RecipientStatus.PENDING, updated=now))


def _delete(c: Connection, ids: Sequence[int]) -> None:
    # Children explicitly, not only by ON DELETE CASCADE: the result must
    # not depend on a connection having remembered PRAGMA foreign_keys.
    for batch in sql_reads.batches(ids):
        for table in (message_chunks, recipients, attempts):
            c.execute(delete(table).where(table.c.message_id.in_(batch)))
        c.execute(delete(messages).where(M.id.in_(batch)))
