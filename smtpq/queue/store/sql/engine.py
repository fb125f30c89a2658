"""SQLAlchemy engines for the queue database, with SQLite made durable and explicit.

On a SQLite file, the directories and files are checked to belong to the
user when the engine is made and again before each new connection opens
them (``sqlite_file.prepare_database_file``).  On SQLite every connection gets
the pragmas of ``smtpq.queue.store.sqlite_file`` (WAL, ``synchronous=FULL``, foreign
keys, 30 s busy timeout), and every transaction starts with ``BEGIN
IMMEDIATE``: the write lock is taken up front, so two flushers claiming at
once serialize instead of failing to upgrade a read lock, and DDL in
migrations is transactional.  (pysqlite would otherwise
begin transactions lazily and commit DDL on its own; this is SQLAlchemy's
documented recipe, with the driver in autocommit mode.)

A connection given the execution option ``smtpq_read_only=True`` begins
``DEFERRED`` instead: readers in WAL mode then never wait for a writer.  One
given ``smtpq_no_wait=True`` fails at once when another writer holds the
lock, instead of waiting for it (``NO_WAIT``; ignored on a server database).

A server database (PostgreSQL) is used at READ COMMITTED, set explicitly
rather than inherited from the server's ``default_transaction_isolation``:
the store's claims rely on it (``FOR NO KEY UPDATE SKIP LOCKED`` re-checks a
row's latest version; SERIALIZABLE would instead abort concurrent flushers
with serialization failures), and connections are checked before use, since a
shared server may restart between two flushes.  ``postgresql://`` needs no
driver name: it means psycopg (3), the driver smtpq's ``postgresql`` extra
installs, whichever default the installed SQLAlchemy has.
"""

from __future__ import annotations

import functools
import importlib.util
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from smtpq.queue.store.sqlite_file import BUSY_TIMEOUT_S, apply_pragmas, prepare_database_file
from smtpq.sender.errors import ConfigError

#: Execution option for read-only work (listing, showing, streaming content).
READ_ONLY = {"smtpq_read_only": True}
#: Execution option for a write that would rather not happen than wait for the lock.
NO_WAIT = {"smtpq_no_wait": True}


def make_engine(url: str | URL, *, foreign_keys: bool = True) -> Engine:
    """An engine for *url*; ``foreign_keys=False`` is for migrations only (see env.py)."""
    try:
        parsed = make_url(url)
    except ArgumentError as error:
        raise ConfigError(f"invalid database URL: {error}") from None
    if parsed.get_backend_name() != "sqlite":
        return _networked_engine(parsed)
    engine = create_engine(parsed, connect_args={"timeout": BUSY_TIMEOUT_S})
    if _is_plain_file(parsed):
        path = str(parsed.database)
        prepare_database_file(path)
        # Owned, or refused, again right before SQLite opens the files of each
        # new pooled connection (see prepare_database_file).
        event.listen(engine, "do_connect", functools.partial(_check_files, path))
    event.listen(engine, "connect", functools.partial(_on_connect, foreign_keys=foreign_keys))
    event.listen(engine, "begin", _on_begin)
    return engine


#: Isolation level of every transaction on a server database (see the module doc).
SERVER_ISOLATION = "READ COMMITTED"


def _networked_engine(url: URL) -> Engine:
    if url.drivername == "postgresql" and importlib.util.find_spec("psycopg") is not None:
        url = url.set(drivername="postgresql+psycopg")
    try:
        return create_engine(url, pool_pre_ping=True, isolation_level=SERVER_ISOLATION)
    except (ImportError, NoSuchModuleError) as error:
        name = url.drivername
        raise ConfigError(f"database driver for {name} is not available ({error}); "
                          f"install it, e.g. pip install 'psycopg[binary]'") from None


def is_sqlite(engine: Engine | Connection) -> bool:
    """Whether the SQLite branch of a dialect-dependent statement applies."""
    return engine.dialect.name == "sqlite"


def sqlite_file(engine: Engine) -> str | None:
    """The file of a SQLite engine on a plain file (the queue marker's database), else None."""
    url = engine.url
    return str(url.database) if is_sqlite(engine) and _is_plain_file(url) else None


def _is_plain_file(url: URL) -> bool:
    database = url.database
    return bool(database) and database != ":memory:" and "uri" not in url.query


def _check_files(path: str, *_connect_args: Any) -> None:
    prepare_database_file(path)


def _on_connect(dbapi_connection: Any, _record: Any, *, foreign_keys: bool) -> None:
    # Autocommit at the driver level: _on_begin emits BEGIN itself.
    dbapi_connection.isolation_level = None
    apply_pragmas(dbapi_connection)
    if not foreign_keys:
        # A batch migration copies a table and drops the original; with
        # foreign keys on, that DROP would cascade-delete every recipient and
        # chunk of the queue.  (The pragma is a no-op inside a transaction,
        # hence here, at connect time.)
        dbapi_connection.execute("PRAGMA foreign_keys=OFF")


def _on_begin(connection: Connection) -> None:
    options = connection.get_execution_options()
    if options.get("smtpq_read_only", False):
        connection.exec_driver_sql("BEGIN DEFERRED")
    elif options.get("smtpq_no_wait", False):
        # Fail at once (SQLITE_BUSY) instead of sleeping in SQLite's busy handler,
        # whose retries come 1, 2, 5, 10 … ms apart: the flush's group commit
        # rather keeps its verdicts a little longer and goes on sending.
        connection.exec_driver_sql("PRAGMA busy_timeout = 0")
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        finally:
            connection.exec_driver_sql(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
