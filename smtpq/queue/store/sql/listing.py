"""The read behind ``smtpq list``: one page of the queue in two statements, as plain tuples.

Why not ``QueueStore.list_messages``: listing 100,000 messages must take well
under two seconds, and per-row costs dominate.  So this read selects only the
listed columns, builds ``NamedTuple``s rather than dataclasses, fetches the
recipients of a whole page with one join over an id range (no ``IN`` list, so
no bound-parameter limit), and on SQLite parses timestamps itself: they are
fixed-format UTC text (``smtpq.queue.store.sqlite_file.TIMESTAMP_FORMAT``), and
``datetime.fromisoformat`` reads them ten times faster than the generic
type processing.  Statements per page: exactly two, whatever its size.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, String, select, type_coerce
from sqlalchemy.sql import ColumnElement

from smtpq.queue.states import MessageStatus
from smtpq.queue.store.sql.models import messages, recipients

M = messages.c
R = recipients.c


class QueueEntry(NamedTuple):
    """One message as ``smtpq list`` shows it (a tuple: 100,000 of them are cheap)."""

    id: int
    status: MessageStatus
    envelope_from: str
    account: str
    size: int
    created: datetime
    attempts: int
    last_exit_code: int | None
    next_attempt: datetime | None
    last_smtp_status: int | None
    last_smtp_message: str | None
    subject: str | None
    msgid: str | None
    recipients: tuple[str, ...] = ()
    claimed_by: str | None = None  # a message being sent: who holds it (``holders``)
    #: Whether that holder lives, when the database can tell (PostgreSQL: its session).
    holder_alive: bool | None = None


def read_page(connection: Connection, statuses: Sequence[MessageStatus], after: int,
              size: int) -> list[QueueEntry]:
    """Up to *size* messages in *statuses* with ids above *after*, in id order."""
    stamp, to_time = _time_reader(connection)
    columns = (M.id, M.status, M.envelope_from, M.account, M.size, stamp(M.created),
               M.attempts, M.last_exit_code, stamp(M.next_attempt), M.last_smtp_status,
               M.last_smtp_message, M.subject, M.msgid, M.claimed_by)
    rows = connection.execute(select(*columns).where(M.status.in_(statuses), M.id > after)
                              .order_by(M.id).limit(size)).all()
    if not rows:
        return []
    addresses = _addresses(connection, statuses, after, rows[-1][0])
    return [
        QueueEntry(id_, status, sender, account, size_, to_time(created), attempts, code,
                   to_time(due) if due is not None else None, smtp_status, smtp_message,
                   subject, msgid, addresses.get(id_, ()), claimed_by)
        for (id_, status, sender, account, size_, created, attempts, code, due, smtp_status,
             smtp_message, subject, msgid, claimed_by) in rows
    ]


def _addresses(connection: Connection, statuses: Sequence[MessageStatus], after: int,
               last: int) -> dict[int, tuple[str, ...]]:
    """Recipient addresses of the listed messages with ids in (*after*, *last*], by id."""
    query = (select(R.message_id, R.address).join(messages, M.id == R.message_id)
             .where(M.status.in_(statuses), M.id > after, M.id <= last)
             .order_by(R.message_id, R.position))
    found: dict[int, tuple[str, ...]] = {}
    current: int | None = None
    bucket: list[str] = []
    for message_id, address in connection.execute(query).all():
        if message_id != current:
            if current is not None:
                found[current] = tuple(bucket)
            current, bucket = message_id, []
        bucket.append(address)
    if current is not None:
        found[current] = tuple(bucket)
    return found


def _time_reader(connection: Connection) -> tuple[Callable[[Any], ColumnElement[Any]],
                                                  Callable[[Any], datetime]]:
    """How to select a timestamp column, and how to make the value an aware datetime."""
    if connection.dialect.name == "sqlite":
        return (lambda column: type_coerce(column, String)), _from_sqlite_text
    return (lambda column: column), _unchanged


def _from_sqlite_text(value: str) -> datetime:
    # "2026-03-01 12:00:00.000000", UTC by construction: say so, and parse in C.
    return datetime.fromisoformat(value + "+00:00")


def _unchanged(value: datetime) -> datetime:
    return value
