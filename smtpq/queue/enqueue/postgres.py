"""The hot enqueue path into a PostgreSQL queue: libpq directly, one transaction.

The fleet's twin of ``enqueue.sqlite``: ``smtpq-sendmail`` runs this for
every mail, so it imports neither SQLAlchemy, Alembic nor psycopg (together
about 370 ms of CPU per mail; this path costs a few ms more than the SQLite
one, docs/performance.md).  It writes exactly the rows the store writes
(``smtpq.queue.store.rows``, the column lists of ``enqueue.sqlite``), in one
transaction at READ COMMITTED, as the store does: when ``enqueue`` returns,
the mail is committed (the server's own durability, ``synchronous_commit``);
when it raises, nothing of the mail is in the database (a connection closed
before COMMIT is rolled back by the server).

The schema is checked inside that transaction with one SELECT of
``alembic_version`` (``FOR SHARE``: a migration committing meanwhile is
waited for, and then seen); a missing or older schema is migrated once
through Alembic (imported only then), after which the insert is tried again.

``enqueue`` returns None when it cannot take the mail on this path at all
(no libpq on the machine, a URL libpq does not understand): the caller then
uses the SQLAlchemy store, which says what is wrong.  The URL's password is
never part of a message.
"""

from __future__ import annotations

from smtpq.queue.enqueue import libpq
from smtpq.queue.errors import PgError
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

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (import cost)
if TYPE_CHECKING:
    from datetime import datetime

    from smtpq.queue.errors import StoreError
    from smtpq.queue.new_message import Content, NewMessage

#: The SQLAlchemy URL schemes that mean libpq (psycopg) underneath.
SCHEMES = ("postgresql://", "postgresql+psycopg://")
#: Connection settings of the enqueue session (over whatever the URL says).
SETTINGS = {"client_encoding": "UTF8", "application_name": "smtpq-sendmail"}
#: SQLSTATE classes worth trying again later (EX_TEMPFAIL): connection exception,
#: transaction rollback (deadlock, serialization), insufficient resources, object
#: not in prerequisite state (lock not available), operator intervention, system error.
TEMPORARY = ("08", "40", "53", "55", "57", "58")
UNDEFINED_TABLE = "42P01"
#: Recipients per multi-row INSERT (a statement takes at most 65,535 parameters).
RECIPIENTS_PER_INSERT = 1000


def _insert_sql(table: str, columns: tuple[str, ...], rows: int = 1) -> str:
    width = len(columns)
    groups = ", ".join("(" + ", ".join(f"${row * width + n + 1}" for n in range(width)) + ")"
                       for row in range(rows))
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES {groups}"


_INSERT_MESSAGE = _insert_sql("messages", MESSAGE_COLUMNS) + " RETURNING id"
_INSERT_CHUNK = _insert_sql("message_chunks", CHUNK_COLUMNS)


def libpq_uri(url: str) -> str | None:
    """*url* as a libpq connection URI, or None when it is not a psycopg PostgreSQL URL."""
    for scheme in SCHEMES:
        if url.startswith(scheme):
            return "postgresql://" + url[len(scheme):]
    return None


def printable(url: str) -> str:
    """*url* with its password replaced by ``***`` (as SQLAlchemy shows URLs)."""
    scheme, sep, rest = url.partition("://")
    end = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0), default=len(rest))
    authority = rest[:end]
    if not sep or "@" not in authority:
        return url
    userinfo, host = authority.rsplit("@", 1)
    if ":" in userinfo:
        userinfo = userinfo.split(":", 1)[0] + ":***"
    return f"{scheme}://{userinfo}@{host}{rest[end:]}"


def enqueue(url: str, message: NewMessage, content: Content, *,
            now: datetime | None = None) -> int | None:
    """Store *message* with the bytes of *content* in the PostgreSQL queue at *url*; its id,
    or None when this path cannot be used here (the caller takes the store path).

    Raises ``StoreError`` (EX_TEMPFAIL, EX_IOERR, EX_CANTCREAT) when the mail
    could not be stored; nothing of it is left in the database then.
    """
    uri = libpq_uri(url)
    lib = libpq.load() if uri is not None else None
    if uri is None or lib is None or not libpq.parses(lib, uri):
        return None
    stamp = utc_now_text() + "+00" if now is None else now.isoformat()
    for migrated in (False, True):
        message_id = _store(lib, uri, printable(url), message, content, stamp)
        if message_id is not None:
            return message_id
        if migrated:
            break
        from smtpq.queue.store.sql.migrate import upgrade  # Alembic only when there is work

        upgrade(url)
    from smtpq.queue.errors import SchemaError

    raise SchemaError(f"the queue database {printable(url)} is not at schema revision {HEAD} "
                      "after upgrading")


def _store(lib: object, uri: str, where: str, message: NewMessage, content: Content,
           now: str) -> int | None:
    """The new message's id, or None (nothing written) when the schema is not HEAD."""
    try:
        connection = libpq.Connection(lib, uri, SETTINGS)
    except PgError as error:
        raise _store_error(error, where) from None
    try:
        connection.execute("BEGIN ISOLATION LEVEL READ COMMITTED")
        if _schema_version(connection) != HEAD:
            return None  # closed below, before COMMIT: rolled back
        message_id = _insert(connection, message, content, now)
        connection.execute("COMMIT")
        return message_id
    except PgError as error:
        raise _store_error(error, where) from None
    finally:
        connection.close()  # without COMMIT (an error, KeyboardInterrupt): rolled back


def _schema_version(connection: libpq.Connection) -> str | None:
    """The Alembic revision of the database, None when it has none (one query)."""
    try:
        rows = connection.execute("SELECT version_num FROM alembic_version FOR SHARE")
    except PgError as error:
        if error.sqlstate == UNDEFINED_TABLE:
            return None  # a new, empty database: migrate it
        raise
    return rows[0] if len(rows) == 1 else None


def _insert(connection: libpq.Connection, message: NewMessage, content: Content,
            now: str) -> int:
    """The inserts; *now* is the text of every timestamp (ISO 8601 with its UTC offset)."""
    row = message_row(message, now)
    [message_id] = connection.execute(_INSERT_MESSAGE, [row[c] for c in MESSAGE_COLUMNS])
    assert message_id is not None
    recipients = recipient_rows(int(message_id), message, now)
    for start in range(0, len(recipients), RECIPIENTS_PER_INSERT):
        some = recipients[start:start + RECIPIENTS_PER_INSERT]
        connection.execute(_insert_sql("recipients", RECIPIENT_COLUMNS, len(some)),
                           [r[c] for r in some for c in RECIPIENT_COLUMNS])
    size = insert_chunks(connection.execute, _INSERT_CHUNK, int(message_id), content)
    connection.execute("UPDATE messages SET size = $1 WHERE id = $2", (size, message_id))
    return int(message_id)


def _store_error(error: PgError, where: str) -> StoreError:
    """The ``StoreError`` the store path would raise (``errors.database_error``)."""
    from smtpq.queue.errors import StoreError
    from smtpq.sender.sysexits import ExitCode

    temporary = error.sqlstate is None or error.sqlstate[:2] in TEMPORARY
    return StoreError(f"cannot use the queue database {where}: {error}",
                      exit_code=ExitCode.EX_TEMPFAIL if temporary else ExitCode.EX_IOERR)
