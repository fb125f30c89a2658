"""``SqlStore``: the queue store on SQLAlchemy Core, for SQLite and PostgreSQL alike.

Portable SQL throughout.  How concurrent writers are kept apart differs:

- SQLite: every write transaction starts with ``BEGIN IMMEDIATE``
  (``smtpq.queue.store.sql.engine``), which admits one writer at a time;
- PostgreSQL (READ COMMITTED, many flushers on many hosts): row locks.  A
  claim selects ``FOR NO KEY UPDATE SKIP LOCKED``, so concurrent flushers take
  different messages instead of waiting for each other; the housekeeping
  sweeps (reclaim, expire, prune) skip locked rows the same way; a change to
  one message locks its ``messages`` row first, then touches its children
  (recipients, attempts, chunks), and the multi-message changes (purge,
  retry) lock their rows in id order first: one lock order, so no deadlock.
  (``with_for_update`` renders nothing on SQLite, where it is not needed.)

On PostgreSQL every claim is stamped with the claiming process's session key
(``smtpq.queue.store.sql.liveness``, opened on its first claim, closed with the
store), and each claim first takes back the mail of sessions that are gone.

Every public method is one transaction, committed before it returns.
"""

from __future__ import annotations

import io
import os
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, BinaryIO

from sqlalchemy import (
    Connection,
    Engine,
    bindparam,
    delete,
    func,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError

from smtpq.queue.errors import ContentDropped, MessageNotFound, database_error
from smtpq.queue.new_message import Content, NewMessage
from smtpq.queue.records import (
    AttemptRecord,
    ClaimedMessage,
    FlushRunEnd,
    MessageDetail,
    MessageSummary,
    NoticeDue,
    QueueHealth,
    RecipientResult,
    Route,
    Transition,
)
from smtpq.queue.states import (
    CLAIMABLE,
    HOLDABLE,
    PENDING,
    REROUTABLE,
    RETRYABLE,
    REVIVABLE,
    MessageStatus,
)
from smtpq.queue.store.rows import HEAD, encode_options
from smtpq.queue.store.sql import health as sql_health
from smtpq.queue.store.sql import notices as sql_notices
from smtpq.queue.store.sql import reads as sql_reads
from smtpq.queue.store.sql import verdicts as sql_verdicts
from smtpq.queue.store.sql.engine import NO_WAIT, READ_ONLY, is_sqlite, make_engine, sqlite_file
from smtpq.queue.store.sql.models import attempts, message_chunks, messages, recipients
from smtpq.sender.delivery.outcome import RecipientStatus

M = messages.c
R = recipients.c
#: SQLite's "database is locked" (sqlite3.Error.sqlite_errorcode).
SQLITE_BUSY = 5

_RELEASED = sql_verdicts.RELEASED
#: Drops the content of sent mail (``keep_sent_content = false``); built once, as
#: the flush's other hot statements (``store.sql.verdicts``).
_DROP_CONTENT = delete(message_chunks).where(
    message_chunks.c.message_id.in_(bindparam("b_ids", expanding=True)))


def open_store(url: str | URL, *, migrate: bool = True,
               keep_sent_content: bool = True) -> SqlStore:
    """A store on the database at *url*, created or upgraded to the current schema first.

    With ``keep_sent_content=False`` (the flush, by default) the content of a
    mail is deleted in the same transaction that records it sent.
    """
    engine = make_engine(url)
    where = engine.url.render_as_string(hide_password=True)
    try:
        if migrate and _schema_version(engine) != HEAD:
            from smtpq.queue.store.sql.migrate import upgrade  # Alembic only when there is work

            upgrade(url)
        _check_marker(engine)
    except DBAPIError as error:
        engine.dispose()
        raise database_error(error, where) from None
    except BaseException:
        engine.dispose()
        raise
    return SqlStore(engine, keep_sent_content=keep_sent_content)


def _check_marker(engine: Engine) -> None:
    """Refuse a SQLite queue whose ids went back below its marker (``store.marker``)."""
    path = sqlite_file(engine)
    if path is None:
        return
    from smtpq.queue.store.marker import check_high_water

    with engine.connect() as connection:
        connection.execution_options(**READ_ONLY)
        with connection.begin():
            check_high_water(path, connection.connection)


def _schema_version(engine: Engine) -> str | None:
    with engine.connect() as connection:
        connection.execution_options(**READ_ONLY)
        with connection.begin():
            if not inspect(connection).has_table("alembic_version"):
                return None
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


class SqlStore:
    """The ``QueueStore`` on a SQLAlchemy engine (build it with ``open_store``).

    A store remembers who claimed what through it: a verdict on a message it
    claimed (``defer``, ``fail``, ``expire``, ``release_unreachable``) applies
    only while that worker still holds the claim, as if ``worker_id`` had been
    passed.  A flusher that stalled past its lease therefore cannot undo the
    work of the one that took its mail over (``mark_sent`` still applies: the
    mail went out).
    """

    def __init__(self, engine: Engine, *, keep_sent_content: bool = True) -> None:
        self._engine = engine
        self._keep_sent_content = keep_sent_content
        self._reader = engine.execution_options(**READ_ONLY)
        self._no_wait = engine.execution_options(**NO_WAIT)
        self._where = engine.url.render_as_string(hide_password=True)
        self._claims: dict[int, str] = {}  # message id -> worker that claimed it here
        self._session: ClaimSession | None = None  # PostgreSQL: this process's liveness

    def __enter__(self) -> SqlStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        session, self._session = self._session, None
        if session is not None and session.pid == os.getpid():  # never a parent's
            session.close()
        self._engine.dispose()

    def _write(self) -> AbstractContextManager[Connection]:
        return self._transaction(self._engine)

    def _read(self) -> AbstractContextManager[Connection]:
        return self._transaction(self._reader)

    @contextmanager
    def _transaction(self, engine: Engine) -> Iterator[Connection]:
        """One transaction on *engine*; database errors become ``StoreError``."""
        try:
            with engine.begin() as connection:
                yield connection
        except DBAPIError as error:
            raise database_error(error, self._where) from None

    # -- enqueue -------------------------------------------------------------

    def enqueue(self, message: NewMessage, content: Content, *, now: datetime | None = None) -> int:
        when = now or datetime.now(UTC)
        with self._write() as c:
            message_id = sql_notices.insert_message(c, message, content, when)
        self._committed(message_id)
        return message_id

    def _committed(self, message_id: int) -> None:
        """Move the queue marker up to *message_id* (after its COMMIT; SQLite files only)."""
        path = sqlite_file(self._engine)
        if path is not None:
            from smtpq.queue.store.marker import record_high

            record_high(path, message_id)

    # -- flush ---------------------------------------------------------------

    def claim_due(self, now: datetime, *, limit: int, worker_id: str, lease: timedelta,
                  account: str | None = None, ids: Collection[int] | None = None,
                  ignore_backoff: bool = False, after_id: int = 0) -> list[ClaimedMessage]:
        token = self._claim_token(lease)
        with self._write() as c:
            # PostgreSQL: a dead worker's mail first (its session is gone), taken back
            # and claimable by this very claim even below *after_id* (it was never ours).
            freed = self._take_back_dead(c, now) if token is not None else []
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
            claimed = sql_reads.load_claimed(c, chosen)
        self._claims.update(dict.fromkeys(chosen, worker_id))
        return claimed

    def _claim_token(self, lease: timedelta) -> int | None:
        """This process's liveness key (PostgreSQL; its ``ClaimSession`` opened on the
        first claim), None on SQLite, where the per-host flush lock proves liveness."""
        if is_sqlite(self._engine):
            return None
        from smtpq.queue.store.sql.liveness import ClaimSession

        session = self._session
        if session is not None and session.pid == os.getpid() and not session.alive():
            session.close()  # broken (a server restart): a new session, a new key
            session = None
        if session is None or session.pid != os.getpid():  # a forked child: its own
            try:
                session = self._session = ClaimSession(self._engine, lease)
            except DBAPIError as error:
                raise database_error(error, self._where) from None
        return session.token

    def _take_back_dead(self, c: Connection, now: datetime) -> list[int]:
        """Queue again, due now, the mail of workers whose session is gone; their ids."""
        from smtpq.queue.store.sql.liveness import dead_claims

        return self._requeue_claims(c, dead_claims(), now)

    def _requeue_claims(self, c: Connection, which: Any, now: datetime) -> list[int]:
        # A row locked now is being finished by its flusher (or taken back by
        # another sweep): leave it, the next sweep sees the outcome.
        query = select(M.id).where(which).order_by(M.id).with_for_update(
            skip_locked=True, key_share=True)
        ids = list(c.execute(query).scalars())
        for batch in sql_reads.batches(ids):
            # Due at once, with the deferral count untouched: the flusher
            # died, the server never said anything about this message.
            c.execute(update(messages).where(M.id.in_(batch), which).values(
                status=MessageStatus.QUEUED, next_attempt=now, **_RELEASED))
        return ids

    def count_due(self, now: datetime, *, account: str | None = None,
                  ids: Collection[int] | None = None, ignore_backoff: bool = False) -> int:
        query = _due(select(func.count()).select_from(messages), now, account=account, ids=ids,
                     ignore_backoff=ignore_backoff)
        with self._read() as c:
            return int(c.execute(query).scalar_one())

    def renew_claims(self, ids: Collection[int], *, worker_id: str, until: datetime) -> int:
        if self._session is not None and self._session.lost:
            return 0  # its claims were free for others to take: count them all lost
        with self._write() as c:
            result = c.execute(update(messages).where(
                M.id.in_(list(ids)), M.status == MessageStatus.SENDING, M.claimed_by == worker_id,
            ).values(claim_expires=until))
            return result.rowcount

    def reclaim_expired(self, now: datetime) -> list[int]:
        lapsed = (M.status == MessageStatus.SENDING) & (M.claim_expires < now)
        with self._write() as c:
            if not is_sqlite(c):
                from smtpq.queue.store.sql.liveness import dead_claims

                lapsed = lapsed | dead_claims()  # a dead session's claims need no lease
            return self._requeue_claims(c, lapsed, now)

    def claim_holders_alive(self, ids: Collection[int]) -> dict[int, bool]:
        if is_sqlite(self._engine):
            return {}  # the holder's host and pid tell (the per-host flush lock)
        from smtpq.queue.store.sql.liveness import holders_alive

        with self._read() as c:
            return holders_alive(c, ids)

    def claim_holders(self) -> list[str]:
        with self._read() as c:
            return list(c.execute(select(M.claimed_by).distinct().where(
                M.status == MessageStatus.SENDING, M.claimed_by.is_not(None))
                .order_by(M.claimed_by)).scalars())

    def release_claims(self, holders: Collection[str], now: datetime, *,
                       ids: Collection[int] | None = None) -> list[int]:
        held = (M.status == MessageStatus.SENDING) & M.claimed_by.in_(list(holders))
        query = select(M.id).where(held).order_by(M.id).with_for_update(
            skip_locked=True, key_share=True)  # a row locked now is being recorded
        if ids is not None:
            query = query.where(M.id.in_(list(ids)))
        with self._write() as c:
            chosen = list(c.execute(query).scalars())
            for batch in sql_reads.batches(chosen):
                # Due at once, the deferral count untouched: no server said anything.
                c.execute(update(messages).where(M.id.in_(batch), held).values(
                    status=MessageStatus.QUEUED, next_attempt=now, **_RELEASED))
        for message_id in chosen:
            self._claims.pop(message_id, None)
        return chosen

    def open_content(self, message_id: int) -> BinaryIO:
        with self._read() as c:
            found = sql_reads.size_and_first_chunk(c, message_id)
        if found is None:
            raise MessageNotFound(message_id)
        size, first = found
        if first is None and size > 0:
            self._missing_content(message_id)
        reader = sql_reads.ChunkReader(self._engine, message_id, size, first)
        return io.BufferedReader(reader)

    def record_recipient_results(self, message_id: int, results: Sequence[RecipientResult],
                                 now: datetime) -> None:
        with self._write() as c:
            self._lock_one(c, message_id)
            sql_verdicts.record(c, [(message_id, now, results, None)])

    def add_attempt(self, message_id: int, attempt: AttemptRecord) -> None:
        with self._write() as c:
            self._lock_one(c, message_id)
            sql_verdicts.record(c, [(message_id, attempt.finished, (), attempt)])
            sql_verdicts.count_attempt(c, message_id, attempt)

    def apply(self, transitions: Sequence[Transition]) -> list[bool]:
        if not transitions:
            return []
        with self._write() as c:
            done = self._apply(c, transitions)
        return self._applied(transitions, done)

    def try_apply(self, transitions: Sequence[Transition]) -> list[bool] | None:
        if not transitions:
            return []
        try:
            with self._no_wait.begin() as c:
                done = self._apply(c, transitions)
        except DBAPIError as error:
            if getattr(error.orig, "sqlite_errorcode", None) == SQLITE_BUSY:
                return None  # another writer holds the lock: nothing was done
            raise database_error(error, self._where) from None
        return self._applied(transitions, done)

    def _apply(self, c: Connection, transitions: Sequence[Transition]) -> dict[int, bool]:
        present = sql_verdicts.lock(c, [t.message_id for t in transitions])
        known = [t for t in transitions if t.message_id in present]
        done = dict(zip((t.message_id for t in known),
                        sql_verdicts.apply(c, known, self._claims.get), strict=True))
        self._drop_sent_content(c, [t for t in known if done[t.message_id]])
        return done

    def _drop_sent_content(self, c: Connection, applied: Sequence[Transition]) -> None:
        """Unless sent content is kept: delete the content of the mail just sent."""
        if self._keep_sent_content:
            return
        sent = [t.message_id for t in applied if t.status is MessageStatus.SENT]
        for batch in sql_reads.batches(sent):
            c.execute(_DROP_CONTENT, {"b_ids": list(batch)})

    def _missing_content(self, message_id: int) -> None:
        """A message with a size but no chunk: its content was dropped when it was sent."""
        with self._read() as c:
            status = c.execute(select(M.status).where(M.id == message_id)).scalar()
        if status == MessageStatus.SENT:
            raise ContentDropped(message_id)

    def _applied(self, transitions: Sequence[Transition], done: dict[int, bool]) -> list[bool]:
        for message_id, applied in done.items():
            if applied:
                self._claims.pop(message_id, None)  # done with it (a refused one stays refused)
        return [done.get(t.message_id, False) for t in transitions]

    def mark_sent(self, message_id: int, now: datetime, *,
                  results: Sequence[RecipientResult] = (),
                  attempt: AttemptRecord | None = None) -> bool:
        return self._apply_one(Transition(message_id, MessageStatus.SENT, now, tuple(results),
                                          attempt))

    def defer(self, message_id: int, now: datetime, next_attempt: datetime, *,
              results: Sequence[RecipientResult] = (),
              attempt: AttemptRecord | None = None, worker_id: str | None = None) -> bool:
        return self._apply_one(Transition(message_id, MessageStatus.DEFERRED, now, tuple(results),
                                          attempt, next_attempt, worker_id))

    def release_unreachable(self, message_id: int, now: datetime, *,
                            attempt: AttemptRecord | None = None,
                            worker_id: str | None = None) -> bool:
        return self._apply_one(Transition(message_id, MessageStatus.QUEUED, now, (), attempt,
                                          worker_id=worker_id))

    def fail(self, message_id: int, now: datetime, *,
             results: Sequence[RecipientResult] = (),
             attempt: AttemptRecord | None = None, worker_id: str | None = None) -> bool:
        return self._apply_one(Transition(message_id, MessageStatus.FAILED, now, tuple(results),
                                          attempt, worker_id=worker_id))

    def expire(self, message_id: int, now: datetime, *,
               results: Sequence[RecipientResult] = (),
               attempt: AttemptRecord | None = None, worker_id: str | None = None) -> bool:
        return self._apply_one(Transition(message_id, MessageStatus.EXPIRED, now, tuple(results),
                                          attempt, worker_id=worker_id))

    def expire_old(self, now: datetime, max_age: timedelta) -> list[int]:
        old = M.status.in_(CLAIMABLE) & (M.queued_at <= now - max_age)
        query = select(M.id).where(old).order_by(M.id).with_for_update(
            skip_locked=True, key_share=True)  # a row locked now is being claimed
        with self._write() as c:
            ids = list(c.execute(query).scalars())
            for batch in sql_reads.batches(ids):
                c.execute(update(messages).where(M.id.in_(batch), old).values(
                    status=MessageStatus.EXPIRED, finished=now, next_attempt=None))
            return ids

    # -- notices (smtpq.queue.notices.sweep) ---------------------------------------

    def due_notices(self, now: datetime, *, delayed_since: datetime | None = None
                    ) -> list[NoticeDue]:
        with self._read() as c:
            return sql_notices.due_notices(c, delayed_since=delayed_since)

    def queue_notice(self, due: NoticeDue, now: datetime, notice: NewMessage | None = None,
                     content: Content = ()) -> int | None:
        with self._write() as c:
            if not sql_notices.mark(c, due, now):
                return None
            if notice is None:
                return 0
            return sql_notices.insert_message(c, notice, content, now, notice_of=due.message_id)

    # -- management ----------------------------------------------------------

    def list_messages(self, statuses: Collection[MessageStatus] = PENDING, *,
                      after_id: int | None = None, limit: int | None = None
                      ) -> list[MessageSummary]:
        with self._read() as c:
            return sql_reads.load_summaries(c, statuses, after_id, limit)

    def get_message(self, message_id: int) -> MessageDetail | None:
        with self._read() as c:
            return sql_reads.load_detail(c, message_id)

    def purge(self, *, ids: Collection[int] | None = None,
              statuses: Collection[MessageStatus] | None = None,
              older_than: datetime | None = None) -> list[int]:
        if ids is None and statuses is None:
            raise ValueError("purge needs ids or statuses")
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
        with self._write() as c:
            chosen = list(c.execute(query).scalars())
            self._delete(c, chosen)
            return chosen

    def retry(self, now: datetime, *, ids: Collection[int] | None = None,
              all_failed: bool = False) -> list[int]:
        if ids is None and not all_failed:
            raise ValueError("retry needs ids or all_failed")
        query = (select(M.id).where(M.status.in_(RETRYABLE if ids is None else REVIVABLE))
                 .order_by(M.id).with_for_update(key_share=True))
        if ids is not None:
            query = query.where(M.id.in_(list(ids)))
        with self._write() as c:
            chosen = list(c.execute(query).scalars())
            for batch in sql_reads.batches(chosen):
                self._requeue(c, batch, now)
            return chosen

    def hold(self, now: datetime, ids: Collection[int]) -> list[int]:
        # Locked like a claim: a flusher claiming it now either wins (the mail
        # is sending and stays so) or finds it held.
        with self._write() as c:
            chosen = self._lock_in(c, ids, HOLDABLE)
            for batch in sql_reads.batches(chosen):
                c.execute(update(messages).where(M.id.in_(batch), M.status.in_(HOLDABLE))
                          .values(status=MessageStatus.HELD))
            return chosen

    def release(self, now: datetime, ids: Collection[int]) -> list[int]:
        held = (MessageStatus.HELD,)
        with self._write() as c:
            chosen = self._lock_in(c, ids, held)
            for batch in sql_reads.batches(chosen):
                c.execute(update(messages).where(M.id.in_(batch), M.status.in_(held)).values(
                    status=MessageStatus.QUEUED, next_attempt=now, queued_at=now))
            return chosen

    def reroute(self, now: datetime, routes: Mapping[int, Route]) -> list[int]:
        with self._write() as c:
            chosen = self._lock_in(c, routes, REROUTABLE)
            for message_id in chosen:
                route = routes[message_id]
                c.execute(update(messages).where(M.id == message_id).values(
                    account=route.account, options=encode_options(route.options)))
            for batch in sql_reads.batches(chosen):
                self._requeue(c, batch, now, REROUTABLE)
            return chosen

    def prune_sent(self, now: datetime, keep_sent: timedelta) -> int:
        # Every flusher prunes: each takes the rows no other one holds.
        query = (select(M.id).where(M.status == MessageStatus.SENT, M.finished < now - keep_sent)
                 .order_by(M.id).with_for_update(skip_locked=True))
        with self._write() as c:
            chosen = list(c.execute(query).scalars())
            self._delete(c, chosen)
            return len(chosen)

    def reclaim_space(self) -> int:
        from smtpq.queue.store.sql.space import reclaim

        try:
            return reclaim(self._engine)
        except DBAPIError as error:
            raise database_error(error, self._where) from None

    # -- health ----------------------------------------------------------------

    def begin_flush_run(self, host: str, pid: int, started: datetime) -> int:
        with self._write() as c:
            return sql_health.begin_run(c, host, pid, started)

    def finish_flush_run(self, run_id: int, end: FlushRunEnd) -> None:
        with self._write() as c:
            sql_health.finish_run(c, run_id, end)

    def health(self) -> QueueHealth:
        with self._read() as c:
            return sql_health.health(c)

    # -- helpers (inside a transaction) --------------------------------------

    def _lock_one(self, c: Connection, message_id: int) -> None:
        """Lock the message's row first (the one lock order, see the module doc)."""
        if not sql_verdicts.lock(c, [message_id]):
            raise MessageNotFound(message_id)

    def _apply_one(self, transition: Transition) -> bool:
        with self._write() as c:
            self._lock_one(c, transition.message_id)
            [applied] = sql_verdicts.apply(c, [transition], self._claims.get)
            if applied:
                self._drop_sent_content(c, [transition])
        if applied:
            self._claims.pop(transition.message_id, None)
        return applied

    def _lock_in(self, c: Connection, ids: Collection[int],
                 statuses: Sequence[MessageStatus]) -> list[int]:
        """Lock the messages among *ids* that are in *statuses*, in id order; their ids."""
        chosen: list[int] = []
        for batch in sql_reads.batches(sorted(set(ids))):
            chosen += c.execute(select(M.id).where(M.id.in_(batch), M.status.in_(statuses))
                                .order_by(M.id).with_for_update(key_share=True)).scalars()
        return chosen

    def _requeue(self, c: Connection, ids: Sequence[int], now: datetime,
                 statuses: Sequence[MessageStatus] = REVIVABLE) -> None:
        # A retried message starts afresh: due now, no back-off, max_age from now.
        c.execute(update(messages).where(M.id.in_(ids), M.status.in_(statuses)).values(
            status=MessageStatus.QUEUED, next_attempt=now, queued_at=now, deferrals=0,
            finished=None, bounced=None, warned=None))  # a new failure gets a new notice
        c.execute(update(recipients).where(
            R.message_id.in_(ids), R.status != RecipientStatus.SENT,
        ).values(status=RecipientStatus.PENDING, updated=now))

    def _delete(self, c: Connection, ids: Sequence[int]) -> None:
        # Children explicitly, not only by ON DELETE CASCADE: the result must
        # not depend on a connection having remembered PRAGMA foreign_keys.
        for batch in sql_reads.batches(ids):
            for table in (message_chunks, recipients, attempts):
                c.execute(delete(table).where(table.c.message_id.in_(batch)))
            c.execute(delete(messages).where(M.id.in_(batch)))


if TYPE_CHECKING:
    from sqlalchemy import Select

    from smtpq.queue.store.interface import QueueStore
    from smtpq.queue.store.sql.liveness import ClaimSession

    # mypy proves here that SqlStore implements the whole QueueStore protocol.
    _CONFORMS: type[QueueStore] = SqlStore


def _due(query: Select[Any], now: datetime, *, account: str | None,
         ids: Collection[int] | None, ignore_backoff: bool) -> Select[Any]:
    """*query* narrowed to the messages a flush may take now (``claim_due``, ``count_due``)."""
    query = query.where(M.status.in_(CLAIMABLE))
    if not ignore_backoff:
        query = query.where(M.next_attempt <= now)
    if account is not None:
        query = query.where(M.account == account)
    if ids is not None:
        query = query.where(M.id.in_(list(ids)))
    return query
