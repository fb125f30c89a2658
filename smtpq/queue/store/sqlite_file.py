"""SQLite conventions shared by the stdlib enqueue path and the SQLAlchemy engine.

- Durability: WAL with ``synchronous=FULL`` set explicitly on *every*
  connection.  In WAL mode, FULL syncs the WAL at each commit; NORMAL would let
  a committed mail vanish on power loss (https://www.sqlite.org/wal.html), and
  exit 0 from sendmail promises the mail is on disk (RFC 5321 §6.1).
- Concurrency: a 30 s busy timeout, so "database is locked" does not reach a
  caller under load; writers take the lock up front (``BEGIN IMMEDIATE``).
- Privacy: the directory is created 0700 and the database 0600 whatever the
  umask; SQLite gives ``-wal``/``-shm`` the database file's mode.  Before
  every connection the directories and files are checked to be the user's
  and private (``smtpq.queue.store.private_files``): owned, or refused.
- Space: a new database starts with ``auto_vacuum = INCREMENTAL`` (set before
  its first page exists), so deleted mail gives its space back
  (``smtpq.queue.store.sql.space``).
- Timestamps: UTC text in SQLAlchemy's own SQLite DATETIME format, so rows
  written by either path read back alike.
"""

from __future__ import annotations

import os
import sqlite3
import time
from datetime import UTC, datetime  # loaded by sqlite3 anyway

BUSY_TIMEOUT_S = 30.0

#: Applied to every connection, in this order (journal_mode is persistent in
#: the file, the others are per connection).
PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    # SQLite enforces foreign keys (and ON DELETE CASCADE) only when asked, per connection.
    "PRAGMA foreign_keys=ON",
)

#: SQLAlchemy's storage format for DATETIME on SQLite; fixed width, so text
#: order is time order and the (status, next_attempt) index works.
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f"

_URL_PREFIXES = ("sqlite:///", "sqlite+pysqlite:///")


def sqlite_path(url: str) -> str | None:
    """The file of a plain file SQLite URL, else None (other engines, memory, URL options)."""
    for prefix in _URL_PREFIXES:
        if url.startswith(prefix):
            path = url[len(prefix):]
            if not path or "?" in path or path == ":memory:":
                return None  # left to SQLAlchemy, which knows every URL form
            if "%" not in path:
                return path  # nothing to unquote: urllib.parse (2 ms of imports) not needed
            from urllib.parse import unquote

            return unquote(path)  # SQLAlchemy unquotes the database part too
    return None


def to_timestamp(value: datetime) -> str:
    """*value* (timezone-aware) as stored in a SQLite DATETIME column."""
    if value.tzinfo is None:
        raise ValueError("naive datetime: the queue stores UTC only")
    return value.astimezone(UTC).strftime(TIMESTAMP_FORMAT)


def apply_pragmas(connection: sqlite3.Connection) -> None:
    """Set the durability and integrity pragmas on a fresh connection."""
    _ensure_wal(connection)
    for pragma in PRAGMAS[1:]:
        connection.execute(pragma).fetchall()


def _ensure_wal(connection: sqlite3.Connection) -> None:
    """Put the database in WAL mode, waiting while another connection is setting it up.

    Switching a new database to WAL needs an exclusive lock, and SQLite does not
    call the busy handler for it: it answers "database is locked" at once, or
    just returns the old mode, while another connection holds a write lock.  So
    two first enqueues into a new queue retry here, up to the busy timeout.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            mode = connection.execute("PRAGMA journal_mode").fetchone()[0]
            if mode.lower() != "wal":
                mode = connection.execute(PRAGMAS[0]).fetchone()[0]
            if mode.lower() == "wal":
                return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            raise sqlite3.OperationalError("database is locked")
        time.sleep(0.01)


def connect(path: str) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are opened explicitly) with the pragmas."""
    connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    try:
        apply_pragmas(connection)
    except BaseException:
        connection.close()
        raise
    return connection


#: The files SQLite and smtpq keep beside a database, each checked like the database
#: itself (``smtpq.queue.flush.lock.LOCK_SUFFIX`` is the last; a test keeps them in step).
COMPANION_SUFFIXES = ("-wal", "-shm", "-journal", ".flush.lock", ".marker")


def prepare_database_file(path: str) -> None:
    """Check *path*'s directories and files, creating them (0700, 0600) where missing.

    Owned, or refused (``smtpq.queue.store.private_files``): the directories from
    ``/`` down, the database and its companions (``-wal``, ``-shm``,
    ``-journal``, the flush lock) must belong to the user, with no symbolic
    link SQLite could be sent through.  SQLite opens these files by name
    itself, and its ``SQLITE_OPEN_NOFOLLOW`` is an open flag with no URI
    parameter, which Python's ``sqlite3`` cannot pass; so this runs right
    before every connection, and the checked directory is one nobody else
    can write to.  SQLite would also create the file with the umask's mode
    (0644 or even 0666); mail is private.  Raises ``StoreError``
    (``UnsafeQueueFile`` when refused), and (EX_IOERR) when the queue marker
    says the file held mail but it is missing or empty: it is never recreated
    empty then (``store.marker``).
    """
    from smtpq.queue.store.marker import check_present
    from smtpq.queue.store.private_files import check_private_entry, open_private_dir

    directory, name = os.path.split(os.path.abspath(path))
    try:
        dir_fd, real = open_private_dir(directory)
        try:
            check_present(path)  # in a checked directory: a vanished queue is refused
            _create_private_file(dir_fd, real, name)
            for suffix in COMPANION_SUFFIXES:
                check_private_entry(dir_fd, real, name + suffix)
        finally:
            os.close(dir_fd)
    except OSError as error:
        from smtpq.queue.errors import os_error

        raise os_error(error, path) from None


def database_file_exists(path: str) -> bool:
    """Whether the database *path* exists, after the checks of ``prepare_database_file``
    (nothing created: looking at a queue does not make one)."""
    from smtpq.queue.store.private_files import check_private_dir, check_private_entry

    directory, name = os.path.split(os.path.abspath(path))
    try:
        dir_fd = check_private_dir(directory)
        if dir_fd is None:
            return False
        try:
            for suffix in COMPANION_SUFFIXES:
                check_private_entry(dir_fd, directory, name + suffix)
            return check_private_entry(dir_fd, directory, name)
        finally:
            os.close(dir_fd)
    except OSError as error:
        from smtpq.queue.errors import os_error

        raise os_error(error, path, reading=True) from None


def _create_private_file(dir_fd: int, directory: str, name: str) -> None:
    """Check the database file there (``lstat``), or create it 0600, never through a link.

    An existing database is never opened here: closing any descriptor of a
    SQLite file drops every POSIX lock this process holds on it, and an
    engine's other pooled connection may hold some (sqlite.org/howtocorrupt.html
    §2.2).  The checked directory makes the ``lstat`` as good as an ``fstat``.
    """
    from smtpq.queue.store.private_files import check_private_entry, open_private_file

    if check_private_entry(dir_fd, directory, name):
        return
    try:
        fd = open_private_file(dir_fd, directory, name, os.O_RDWR | os.O_CREAT | os.O_EXCL)
    except FileExistsError:
        check_private_entry(dir_fd, directory, name)  # created meanwhile: check that one
        return
    try:
        os.fchmod(fd, 0o600)  # exactly: a umask such as 0277 would have removed owner bits
    finally:
        os.close(fd)
    _start_incremental(os.path.join(directory, name))
    # Make the new name itself durable; SQLite syncs the directory for its
    # journal and WAL files, not for a database file someone else created.
    os.fsync(dir_fd)


def _start_incremental(path: str) -> None:
    """Give the new, empty database incremental auto_vacuum (smtpq.queue.store.sql.space).

    It can be set without a VACUUM only before the first page is written, and
    switching to WAL writes it: so here, first.  (Should another process reach
    the file before us, ``smtpq.queue.store.sql.space.make_incremental`` does it later.)
    """
    try:
        connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    except sqlite3.Error:
        return  # the caller's own connection meets the same problem and reports it
    try:
        connection.execute("PRAGMA auto_vacuum = INCREMENTAL").fetchall()
        _ensure_wal(connection)
    except sqlite3.Error:
        pass  # likewise; and a database not yet incremental is switched later
    finally:
        connection.close()
