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

Every public method is one transaction, committed before it returns; the SQL
it runs lives in the function modules beside this one (``claims``, ``verdicts``,
``control``, ``reads``, ``notices``, ``health``), each called with the connection.
"""

from __future__ import annotations

import io
import os
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, BinaryIO

from sqlalchemy import Connection, Engine, inspect, select, text
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
from smtpq.queue.states import PENDING, MessageStatus
from smtpq.queue.store.rows import HEAD
from smtpq.queue.store.sql import claims as sql_claims
from smtpq.queue.store.sql import control as sql_control
from smtpq.queue.store.sql import health as sql_health
from smtpq.queue.store.sql import notices as sql_notices
from smtpq.queue.store.sql import reads as sql_reads
from smtpq.queue.store.sql import verdicts as sql_verdicts
from smtpq.queue.store.sql.engine import NO_WAIT, READ_ONLY, is_sqlite, make_engine, sqlite_file
from smtpq.queue.store.sql.models import messages

M = messages.c
#: SQLite's "database is locked" (sqlite3.Error.sqlite_errorcode).
SQLITE_BUSY = 5


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
            claimed = sql_claims.claim(c, now, limit=limit, worker_id=worker_id, lease=lease,
                                       token=token, account=account, ids=ids,
                                       ignore_backoff=ignore_backoff, after_id=after_id)
        self._claims.update((message.id, worker_id) for message in claimed)
        return claimed

    def _claim_token(self, lease: timedelta) -> int | None:
        """This process's liveness key (PostgreSQL; its ``ClaimSession`` opened on the
        first claim), None on SQLite, where the per-host flush lock proves liveness."""
        if is_sqlite(self._engine):
            return None
        try:
            self._session = sql_claims.claim_session(self._session, self._engine, lease)
        except DBAPIError as error:
            raise database_error(error, self._where) from None
        return self._session.token

    def count_due(self, now: datetime, *, account: str | None = None,
                  ids: Collection[int] | None = None, ignore_backoff: bool = False) -> int:
        with self._read() as c:
            return sql_claims.count_due(c, now, account=account, ids=ids,
                                        ignore_backoff=ignore_backoff)

    def renew_claims(self, ids: Collection[int], *, worker_id: str, until: datetime) -> int:
        if self._session is not None and self._session.lost:
            return 0  # its claims were free for others to take: count them all lost
        with self._write() as c:
            return sql_claims.renew(c, ids, worker_id=worker_id, until=until)

    def reclaim_expired(self, now: datetime) -> list[int]:
        with self._write() as c:
            return sql_claims.reclaim_expired(c, now)

    def claim_holders_alive(self, ids: Collection[int]) -> dict[int, bool]:
        if is_sqlite(self._engine):
            return {}  # the holder's host and pid tell (the per-host flush lock)
        from smtpq.queue.store.sql.liveness import holders_alive

        with self._read() as c:
            return holders_alive(c, ids)

    def claim_holders(self) -> list[str]:
        with self._read() as c:
            return sql_claims.claim_holders(c)

    def release_claims(self, holders: Collection[str], now: datetime, *,
                       ids: Collection[int] | None = None) -> list[int]:
        with self._write() as c:
            chosen = sql_claims.release_claims(c, holders, now, ids=ids)
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
        sql_verdicts.drop_content(c, [t.message_id for t in applied
                                      if t.status is MessageStatus.SENT])

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
        with self._write() as c:
            return sql_control.expire_old(c, now, max_age)

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
        with self._write() as c:
            return sql_control.purge(c, ids=ids, statuses=statuses, older_than=older_than)

    def retry(self, now: datetime, *, ids: Collection[int] | None = None,
              all_failed: bool = False) -> list[int]:
        if ids is None and not all_failed:
            raise ValueError("retry needs ids or all_failed")
        with self._write() as c:
            return sql_control.retry(c, now, ids=ids)

    def hold(self, now: datetime, ids: Collection[int]) -> list[int]:
        with self._write() as c:
            return sql_control.hold(c, ids)

    def release(self, now: datetime, ids: Collection[int]) -> list[int]:
        with self._write() as c:
            return sql_control.release(c, now, ids)

    def reroute(self, now: datetime, routes: Mapping[int, Route]) -> list[int]:
        with self._write() as c:
            return sql_control.reroute(c, now, routes)

    def prune_sent(self, now: datetime, keep_sent: timedelta) -> int:
        with self._write() as c:
            return sql_control.prune_sent(c, now, keep_sent)

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


if TYPE_CHECKING:
    from smtpq.queue.store.interface import QueueStore
    from smtpq.queue.store.sql.liveness import ClaimSession

    # mypy proves here that SqlStore implements the whole QueueStore protocol.
    _CONFORMS: type[QueueStore] = SqlStore

