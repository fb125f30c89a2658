"""``smtpq db check``: the database's own integrity and the queue's consistency, read only.

On SQLite first what SQLite offers: ``PRAGMA integrity_check`` (every page,
index and constraint) and ``PRAGMA foreign_key_check``, then the queue
marker's record (``store.marker``: ids must not have gone back).  On every
engine then the queue's own rules, per message:

- its content is whole: chunks numbered 0..n-1 without a gap, their bytes
  adding up to ``size``;
- it has at least one recipient;
- its status and its recipients' statuses are known ones;
- no recipient, chunk or attempt belongs to a message that does not exist.

A message whose rows cannot even be read (a damaged page) is named with the
error.  Nothing is written.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from smtpq.queue.states import MessageStatus
from smtpq.queue.store.sql.engine import READ_ONLY, is_sqlite, make_engine, sqlite_file
from smtpq.sender.delivery.outcome import RecipientStatus

_MESSAGE_STATUSES = frozenset(status.value for status in MessageStatus)
_RECIPIENT_STATUSES = ", ".join(f"'{status.value}'" for status in RecipientStatus)

#: One row per message: what the content and recipient checks need (correlated
#: subqueries: checking one message reads only its own pages).
_MESSAGES = f"""
    SELECT m.id, m.status, m.size,
           (SELECT COUNT(*) FROM message_chunks c WHERE c.message_id = m.id),
           (SELECT MIN(seq) FROM message_chunks c WHERE c.message_id = m.id),
           (SELECT MAX(seq) FROM message_chunks c WHERE c.message_id = m.id),
           (SELECT SUM(LENGTH({{content}})) FROM message_chunks c WHERE c.message_id = m.id),
           (SELECT COUNT(*) FROM recipients r WHERE r.message_id = m.id),
           (SELECT COUNT(*) FROM recipients r WHERE r.message_id = m.id
                AND r.status NOT IN ({_RECIPIENT_STATUSES}))
    FROM messages m
    WHERE {{where}}
"""
_AFTER = "m.id > :after ORDER BY m.id LIMIT :limit"
_ONE = "m.id = :id"
#: SQLite knows a BLOB's length from the record header alone; concatenating
#: makes it read every overflow page, so a broken page chain is found.
_READ_ALL = {"sqlite": "data || x''", "postgresql": "data"}

_LAST_ID = [
    "SELECT MAX(seq) FROM sqlite_sequence WHERE name = 'messages'",  # SQLite: even when rows are lost
    "SELECT MAX(id) FROM messages",
]
_ORPHANS = "SELECT DISTINCT message_id FROM {table} WHERE message_id NOT IN (SELECT id FROM messages)"
_PAGE = 1000


def _messages_query(connection: Connection, where: str) -> Any:
    content = _READ_ALL.get(connection.dialect.name, "data")
    return text(_MESSAGES.format(where=where, content=content))


class Finding(NamedTuple):
    """One problem: about message ``message_id``, or the database as a whole (None)."""

    message_id: int | None
    text: str

    def __str__(self) -> str:
        where = "database" if self.message_id is None else f"message {self.message_id}"
        return f"{where}: {self.text}"


class CheckReport(NamedTuple):
    findings: list[Finding]
    messages: int  # how many messages were checked


def check_database(url: str) -> CheckReport:
    """Check the queue at *url*; raises ``StoreError`` only when it cannot be opened at all."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return _check(connection.execution_options(**READ_ONLY), sqlite_file(engine))
    except DBAPIError as error:  # not even a connection: the file is not a database
        return CheckReport([Finding(None, f"cannot open: {_reason(error)}")], 0)
    finally:
        engine.dispose()


def _check(connection: Connection, path: str | None) -> CheckReport:
    findings: list[Finding] = []
    if is_sqlite(connection):
        findings += _guarded(connection, _sqlite_checks, "integrity_check")
        findings += _guarded(connection, _marker_check, "marker check", path)
    counted: list[int] = []
    findings += _message_checks(connection, counted)
    for table in ("recipients", "message_chunks", "attempts"):
        findings += _guarded(connection, _orphans, f"reading {table}", table)
    return CheckReport(findings, sum(counted))


def _reason(error: DBAPIError) -> str:
    return str(getattr(error, "orig", None) or error)


def _guarded(connection: Connection, check: Any, what: str, *args: Any) -> list[Finding]:
    """The findings of *check*, or one naming the database error that stopped it."""
    try:
        with connection.begin():
            return list(check(connection, *args))
    except DBAPIError as error:
        return [Finding(None, f"{what} failed: {_reason(error)}")]


def _sqlite_checks(connection: Connection) -> Iterator[Finding]:
    rows = [row[0] for row in connection.exec_driver_sql("PRAGMA integrity_check")]
    if rows != ["ok"]:
        yield from (Finding(None, f"integrity_check: {row}") for row in rows)
    for table, rowid, parent, _fk in connection.exec_driver_sql("PRAGMA foreign_key_check"):
        yield Finding(None, f"foreign_key_check: {table} row {rowid} has no {parent} row")


def _marker_check(connection: Connection, path: str | None) -> Iterator[Finding]:
    from smtpq.queue.errors import StoreError
    from smtpq.queue.store.marker import check_high_water

    if path is None:
        return
    try:
        check_high_water(path, connection.connection)
    except StoreError as error:
        yield Finding(None, error.message)


def _message_checks(connection: Connection, counted: list[int]) -> list[Finding]:
    """Every message, a page at a time; one by one from where a damaged page stops that."""
    findings: list[Finding] = []
    after = total = 0
    try:
        while True:
            with connection.begin():
                rows = connection.execute(_messages_query(connection, _AFTER),
                                          {"after": after, "limit": _PAGE}).all()
            for row in rows:
                findings += message_findings(*row)
            total += len(rows)
            if len(rows) < _PAGE:
                counted.append(total)
                return findings
            after = rows[-1][0]
    except DBAPIError as error:
        findings.append(Finding(None, f"reading messages failed after id {after}: "
                                      f"{_reason(error)}; checking them one by one"))
    counted.append(total)
    for message_id in range(after + 1, _last_id(connection) + 1):
        findings += _one_message(connection, message_id, counted)
    return findings


def _one_message(connection: Connection, message_id: int, counted: list[int]) -> list[Finding]:
    try:
        with connection.begin():
            rows = connection.execute(_messages_query(connection, _ONE),
                                      {"id": message_id}).all()
    except DBAPIError as error:
        return [Finding(message_id, f"unreadable: {_reason(error)}")]
    counted.extend(1 for _ in rows)
    return [finding for row in rows for finding in message_findings(*row)]


def _last_id(connection: Connection) -> int:
    """The highest message id there may be, reading as little as possible (0: unknown)."""
    for query in _LAST_ID if is_sqlite(connection) else _LAST_ID[1:]:
        try:
            with connection.begin():
                value = connection.exec_driver_sql(query).scalar()
        except DBAPIError:
            continue
        if value:
            return int(value)
    return 0


def message_findings(message_id: int, status: str, size: int, chunks: int | None,
                     lowest: int | None, highest: int | None, stored: int | None,
                     recipients: int, unknown_recipients: int) -> list[Finding]:
    """What is wrong with one message, from its row and the counts of its children."""
    return list(_message_findings(message_id, status, size, chunks, lowest, highest, stored,
                                  recipients, unknown_recipients))


def _message_findings(message_id: int, status: str, size: int, chunks: int | None,
                      lowest: int | None, highest: int | None, stored: int | None,
                      recipients: int, unknown_recipients: int) -> Iterator[Finding]:
    if status not in _MESSAGE_STATUSES:
        yield Finding(message_id, f"unknown status {status!r}")
    if not chunks:
        # A sent mail's content is dropped when it is sent (keep_sent_content = false).
        if size and status != MessageStatus.SENT:
            yield Finding(message_id, f"content missing: no chunk of its {size} bytes")
    elif lowest != 0 or highest != chunks - 1:
        yield Finding(message_id, f"content incomplete: {chunks} chunks, numbered "
                                  f"{lowest}..{highest}")
    elif stored != size:
        yield Finding(message_id, f"content size {stored} bytes, recorded {size}")
    if not recipients:
        yield Finding(message_id, "no recipient")
    if unknown_recipients:
        yield Finding(message_id, f"{unknown_recipients} recipients with an unknown status")


def _orphans(connection: Connection, table: str) -> Iterator[Finding]:
    for (message_id,) in connection.exec_driver_sql(_ORPHANS.format(table=table)):
        yield Finding(message_id, f"rows in {table} without their message")

