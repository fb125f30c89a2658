"""The hot enqueue path: store one mail in a SQLite queue with nothing but the stdlib.

``smtpq-sendmail`` runs this for every mail, so it must not import
SQLAlchemy, Alembic or tenacity (``import sqlalchemy`` alone costs about
170 ms against an 8 ms interpreter start; bench-anchors §4).  The promise is
sendmail's: when ``enqueue`` returns, the mail is on disk (WAL with
``synchronous=FULL``: the COMMIT fsyncs); when it raises, nothing of the
mail is in the database (one ``BEGIN IMMEDIATE`` transaction, rolled back).

The schema is checked inside that transaction against ``schema_version.HEAD``;
a missing or older database is migrated once through Alembic (imported only
then), after which the insert is tried again.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import Any

from smtpq.queue.errors import SchemaError, sqlite_error
from smtpq.queue.new_message import Content, NewMessage
from smtpq.queue.rows import iter_chunks, message_row, recipient_rows
from smtpq.queue.schema_version import HEAD
from smtpq.queue.sqlite_db import connect, prepare_database_file, to_timestamp

# The columns each INSERT names.  Every column but the generated ids is given
# explicitly (no reliance on database defaults); tests/queue compares these to
# smtpq.queue.models so that a schema change cannot silently bypass this path.
MESSAGE_COLUMNS = (
    "status", "account", "config_file", "options", "envelope_from", "size", "msgid",
    "subject", "created", "queued_at", "next_attempt", "attempts", "deferrals",
    "last_exit_code", "last_smtp_status", "last_smtp_message", "claimed_by",
    "claim_expires", "finished",
)
RECIPIENT_COLUMNS = ("message_id", "position", "address", "status", "smtp_status",
                     "smtp_message", "updated")
CHUNK_COLUMNS = ("message_id", "seq", "data")


def _insert_sql(table: str, columns: tuple[str, ...]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


_INSERT_MESSAGE = _insert_sql("messages", MESSAGE_COLUMNS)
_INSERT_RECIPIENT = _insert_sql("recipients", RECIPIENT_COLUMNS)
_INSERT_CHUNK = _insert_sql("message_chunks", CHUNK_COLUMNS)


def enqueue(path: str, message: NewMessage, content: Content, *, now: datetime | None = None) -> int:
    """Store *message* with the bytes of *content* in the SQLite queue at *path*; its id.

    Raises ``StoreError`` (EX_CANTCREAT, EX_IOERR or EX_TEMPFAIL) when the
    mail could not be stored; nothing of it is left in the database then.
    """
    prepare_database_file(path)
    when = now or datetime.now(UTC)
    for migrated in (False, True):
        try:
            message_id = _store(path, message, content, when)
        except sqlite3.Error as error:
            raise sqlite_error(error, path) from None
        if message_id is not None:
            return message_id
        if migrated:
            break
        _migrate(path)
    raise SchemaError(f"the queue database {path} is not at schema revision {HEAD} after upgrading")


def _store(path: str, message: NewMessage, content: Content, now: datetime) -> int | None:
    """The new message's id, or None (nothing written) when the schema is not HEAD."""
    connection = connect(path)
    try:
        # Take the write lock now: the schema check and the inserts are one
        # atomic step, and a concurrent migration cannot slip in between.
        connection.execute("BEGIN IMMEDIATE")
        if _schema_version(connection) != HEAD:
            connection.execute("ROLLBACK")
            return None
        message_id = _insert(connection, message, content, now)
        connection.execute("COMMIT")
        return message_id
    except BaseException:  # including KeyboardInterrupt: never leave half a mail
        _rollback(connection)
        raise
    finally:
        connection.close()


def _schema_version(connection: sqlite3.Connection) -> str | None:
    exists = connection.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
    ).fetchone()
    if not exists:
        return None
    rows = connection.execute("SELECT version_num FROM alembic_version").fetchall()
    return rows[0][0] if len(rows) == 1 else None


def _insert(connection: sqlite3.Connection, message: NewMessage, content: Content,
            now: datetime) -> int:
    row = _sqlite_values(message_row(message, now))
    cursor = connection.execute(_INSERT_MESSAGE, [row[column] for column in MESSAGE_COLUMNS])
    message_id = cursor.lastrowid
    assert message_id is not None
    recipients = [_sqlite_values(r) for r in recipient_rows(message_id, message, now)]
    connection.executemany(
        _INSERT_RECIPIENT, [[r[column] for column in RECIPIENT_COLUMNS] for r in recipients]
    )
    size = 0
    for seq, chunk in enumerate(iter_chunks(content)):
        connection.execute(_INSERT_CHUNK, (message_id, seq, chunk))
        size += len(chunk)
    connection.execute("UPDATE messages SET size = ? WHERE id = ?", (size, message_id))
    return message_id


def _sqlite_values(row: dict[str, Any]) -> dict[str, Any]:
    return {key: to_timestamp(v) if isinstance(v, datetime) else v for key, v in row.items()}


def _rollback(connection: sqlite3.Connection) -> None:
    if not connection.in_transaction:
        return  # SQLite already rolled back (it does after some I/O errors)
    try:
        connection.execute("ROLLBACK")
    except sqlite3.Error:
        pass  # closing the connection rolls back whatever is left


def _migrate(path: str) -> None:
    # Imported here: Alembic and SQLAlchemy cost ~300 ms, paid once per database.
    from smtpq.queue.migrate import upgrade_sqlite_file

    upgrade_sqlite_file(path)
