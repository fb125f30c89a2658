"""Giving disk space back to the file system after mail is deleted (SQLite).

SQLite keeps the pages of deleted rows in the file for reuse: without more, a
queue that once held a 100 MB mail stays 100 MB after it is sent and purged.
So a queue database runs with ``auto_vacuum = INCREMENTAL``
(https://www.sqlite.org/pragma.html#pragma_auto_vacuum) and, after a purge, a
prune or a flush that dropped sent content, ``reclaim`` runs
``PRAGMA incremental_vacuum(STEP_PAGES)`` in short transactions of its own
until no free page is left: an enqueue waiting for the write lock waits for
one step (a few MiB moved, tens of milliseconds), never for the whole job.
A passive checkpoint then lets the main file shrink, and a WAL checkpoint
that does not wait (``busy_timeout`` 0) empties the WAL if nobody is using it.

``auto_vacuum`` can only be switched on before the first table is created or
by a ``VACUUM``, which rewrites the whole file and holds the write lock
meanwhile.  ``make_incremental`` does that when the schema is created or
upgraded (``smtpq.queue.store.sql.migrate.upgrade``: first use, ``smtpq db upgrade``)
for a database of at most ``CONVERT_AT_MOST`` bytes; a larger existing queue
is converted by ``smtpq db vacuum``, when its owner chooses to.

PostgreSQL needs none of this: its autovacuum reuses the space of deleted rows.
"""

from __future__ import annotations

import os
import sqlite3
from typing import Any

from sqlalchemy import Engine

from smtpq.queue.store.sql.engine import is_sqlite
from smtpq.queue.store.sqlite_file import BUSY_TIMEOUT_S

#: ``PRAGMA auto_vacuum`` value of INCREMENTAL.
INCREMENTAL = 2
#: Pages moved or released per transaction (4 MiB at the default page size).
STEP_PAGES = 1024
#: Largest database ``make_incremental`` converts by itself (the rest: ``smtpq db vacuum``).
CONVERT_AT_MOST = 32 * 1024 * 1024


def reclaim(engine: Engine) -> int:
    """Release every free page of the SQLite database behind *engine*, a step at a
    time; the bytes the file gave back (0 on other engines or without
    incremental auto_vacuum).  Best effort: what it cannot do now (the
    database busy past the timeout, the disk full) is left for the next call,
    never an error for the purge or flush that called it."""
    if not is_sqlite(engine):
        return 0
    with _raw(engine) as raw:
        if _pragma(raw, "auto_vacuum") != INCREMENTAL:
            return 0
        before = _size(raw)
        try:
            while _pragma(raw, "freelist_count"):
                _step(raw)
        except sqlite3.Error:
            pass  # busy past the timeout, disk full: the free pages wait for the next time
        _checkpoint(raw)
        return max(0, before - _size(raw))


def _step(raw: Any) -> None:
    """Release up to ``STEP_PAGES`` free pages in one short write transaction."""
    try:
        # executescript steps the pragma to its end (execute() frees one page).
        raw.executescript(f"BEGIN IMMEDIATE; PRAGMA incremental_vacuum({STEP_PAGES}); COMMIT;")
    except BaseException:
        if raw.in_transaction:
            raw.execute("ROLLBACK")
        raise


def make_incremental(engine: Engine, *, at_most: int | None = CONVERT_AT_MOST) -> bool:
    """Switch the SQLite database behind *engine* to incremental auto_vacuum (a
    ``VACUUM``) unless it is larger than *at_most* bytes (None: any size).
    Whether it is incremental now."""
    if not is_sqlite(engine):
        return False
    with _raw(engine) as raw:
        if _pragma(raw, "auto_vacuum") == INCREMENTAL:
            return True
        if at_most is not None and _size(raw) > at_most:
            return False
        raw.execute("PRAGMA auto_vacuum = INCREMENTAL")
        try:
            raw.execute("VACUUM")
        except sqlite3.OperationalError:
            return False  # busy past the timeout: the next upgrade or smtpq db vacuum does it
        _checkpoint(raw)
        return _pragma(raw, "auto_vacuum") == INCREMENTAL


def vacuum(engine: Engine) -> int:
    """Rewrite the whole database compactly, incremental from then on (``smtpq db
    vacuum``); the bytes given back.  Holds the write lock while it runs."""
    if not is_sqlite(engine):
        return 0
    with _raw(engine) as raw:
        before = _size(raw)
        raw.execute("PRAGMA auto_vacuum = INCREMENTAL")
        raw.execute("VACUUM")
        _checkpoint(raw)
        return max(0, before - _size(raw))


class _raw:
    """The driver connection of a pooled connection, autocommit (``engine`` sets it)."""

    def __init__(self, engine: Engine) -> None:
        self._pooled = engine.raw_connection()

    def __enter__(self) -> Any:
        return self._pooled.driver_connection

    def __exit__(self, *_exc: object) -> None:
        self._pooled.close()


def _pragma(raw: Any, name: str) -> int:
    return int(raw.execute(f"PRAGMA {name}").fetchone()[0])


def _size(raw: Any) -> int:
    """The main database file's size on disk (what the user sees shrink)."""
    path = raw.execute("PRAGMA database_list").fetchone()[2]
    return os.path.getsize(path) if path else 0


def _checkpoint(raw: Any) -> None:
    """Copy the WAL into the file (it shrinks), then empty the WAL if nobody needs it.

    Neither waits: a busy database keeps its WAL until SQLite's own checkpoints.
    """
    raw.execute("PRAGMA busy_timeout = 0")
    try:
        raw.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    except sqlite3.OperationalError:
        pass  # busy: SQLite's automatic checkpoints get there later
    finally:
        raw.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
