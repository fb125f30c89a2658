"""The hot enqueue path: store one mail in a SQLite queue with nothing but the stdlib.

``smtpq-sendmail`` runs this for every mail, so it must not import
SQLAlchemy, Alembic or tenacity (``import sqlalchemy`` alone costs about
170 ms against an 8 ms interpreter start; bench-anchors §4).  The promise is
sendmail's: when ``enqueue`` returns, the mail is on disk (WAL with
``synchronous=FULL``: the COMMIT fsyncs); when it raises, nothing of the
mail is in the database (one ``BEGIN IMMEDIATE`` transaction, rolled back).

The schema is checked inside that transaction against ``rows.HEAD``;
a missing or older database is migrated once through Alembic (imported only
then), after which the insert is tried again.
"""

from __future__ import annotations

import sqlite3

from smtpq.queue.store.marker import check_high_water, record_high
from smtpq.queue.store.rows import (
    CHUNK_COLUMNS,
    HEAD,
    MESSAGE_COLUMNS,
    RECIPIENT_COLUMNS,
    insert_chunks,
    message_row,
    recipient_rows,
    utc_now_text,
)
from smtpq.queue.store.sqlite_file import connect, prepare_database_file, to_timestamp

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (import cost)
if TYPE_CHECKING:
    from datetime import datetime

    from smtpq.queue.new_message import Content, NewMessage

def _insert_sql(table: str, columns: tuple[str, ...]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


#: The enqueue connection's page cache, in KiB (negative: a size, not a page count).
ENQUEUE_CACHE = "PRAGMA cache_size = -256"

_INSERT_MESSAGE = _insert_sql("messages", MESSAGE_COLUMNS)
_INSERT_RECIPIENT = _insert_sql("recipients", RECIPIENT_COLUMNS)
_INSERT_CHUNK = _insert_sql("message_chunks", CHUNK_COLUMNS)


def enqueue(path: str, message: NewMessage, content: Content, *, now: datetime | None = None) -> int:
    """Store *message* with the bytes of *content* in the SQLite queue at *path*; its id.

    Raises ``StoreError`` (EX_CANTCREAT, EX_IOERR or EX_TEMPFAIL) when the
    mail could not be stored; nothing of it is left in the database then.
    """
    prepare_database_file(path)
    stamp = utc_now_text() if now is None else to_timestamp(now)
    for migrated in (False, True):
        try:
            message_id = _store(path, message, content, stamp)
        except sqlite3.Error as error:
            from smtpq.queue.errors import sqlite_error

            raise sqlite_error(error, path) from None
        if message_id is not None:
            record_high(path, message_id)
            return message_id
        if migrated:
            break
        _migrate(path)
    from smtpq.queue.errors import SchemaError

    raise SchemaError(f"the queue database {path} is not at schema revision {HEAD} after upgrading")


def _store(path: str, message: NewMessage, content: Content, now: str) -> int | None:
    """The new message's id, or None (nothing written) when the schema is not HEAD."""
    connection = connect(path)
    try:
        # A small page cache (256 KiB, not 2 MiB): a mail's pages are written once, so
        # caching them buys nothing, and peak memory stays flat in mail size (§ memory
        # in docs/performance.md).  What does not fit spills to the WAL, as at COMMIT.
        connection.execute(ENQUEUE_CACHE)
        # Take the write lock now: the schema check and the inserts are one
        # atomic step, and a concurrent migration cannot slip in between.
        connection.execute("BEGIN IMMEDIATE")
        if _schema_version(connection) != HEAD:
            connection.execute("ROLLBACK")
            return None
        # Under the write lock the counter cannot move: below the marker means lost commits.
        check_high_water(path, connection)
        message_id = _insert(connection, message, content, now)
        connection.execute("COMMIT")
        return message_id
    except BaseException:  # including KeyboardInterrupt: never leave half a mail
        _rollback(connection)
        raise
    finally:
        connection.close()


def _schema_version(connection: sqlite3.Connection) -> str | None:
    """The Alembic revision of the database, None when it has none (one query)."""
    try:
        rows = connection.execute("SELECT version_num FROM alembic_version").fetchall()
    except sqlite3.OperationalError as error:
        if "no such table" in str(error):
            return None  # a new, empty database: migrate it
        raise
    return rows[0][0] if len(rows) == 1 else None


def _insert(connection: sqlite3.Connection, message: NewMessage, content: Content,
            now: str) -> int:
    """The inserts; *now* is the stored text of every timestamp (``to_timestamp``)."""
    row = message_row(message, now)
    cursor = connection.execute(_INSERT_MESSAGE, [row[column] for column in MESSAGE_COLUMNS])
    message_id = cursor.lastrowid
    assert message_id is not None
    recipients = recipient_rows(message_id, message, now)
    connection.executemany(
        _INSERT_RECIPIENT, [[r[column] for column in RECIPIENT_COLUMNS] for r in recipients]
    )
    size = insert_chunks(connection.execute, _INSERT_CHUNK, message_id, content)
    connection.execute("UPDATE messages SET size = ? WHERE id = ?", (size, message_id))
    return message_id


def _rollback(connection: sqlite3.Connection) -> None:
    if not connection.in_transaction:
        return  # SQLite already rolled back (it does after some I/O errors)
    try:
        connection.execute("ROLLBACK")
    except sqlite3.Error:
        pass  # closing the connection rolls back whatever is left


def _migrate(path: str) -> None:
    # Imported here: Alembic and SQLAlchemy cost ~300 ms, paid once per database.
    from smtpq.queue.store.sql.migrate import upgrade_sqlite_file

    upgrade_sqlite_file(path)
