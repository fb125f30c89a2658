"""The queue marker: a small file beside a SQLite queue saying mail was committed to it.

``queue.sqlite3`` gets ``queue.sqlite3.marker`` (0600, created with
``O_EXCL|O_NOFOLLOW`` in the database's own, already checked directory)
holding one fixed-width line::

    smtpq-queue high=00000000000000000042

``high`` is a message id the database is known to have committed.  It is
written after every COMMIT of an enqueue (never before: the marker may lag
behind the database, never lead it) without an fsync: the WAL's own fsync
(``synchronous=FULL``) makes the mail durable, and a marker that loses its
last write to a power cut only lags.

Two facts then hold for an intact queue, and a broken one is refused with
EX_IOERR instead of being recreated empty or written over:

1. the database file exists and is not empty when ``high`` > 0
   (:func:`check_present`: one ``stat`` on the enqueue path);
2. the database's AUTOINCREMENT counter (``sqlite_sequence``; ids are never
   reused) is at least ``high`` (:func:`check_high_water`, inside the
   enqueue's write transaction and when a command opens the store).  A WAL
   whose tail was damaged loses every transaction from the bad frame on, and
   the counter goes back with them.

The marker is the record that mail existed; deleting it tells smtpq to trust
the database as it is (``smtpq db recover`` rewrites it for the salvaged queue).
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (import cost)
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any, Protocol

    from smtpq.queue.errors import StoreError

    class DbApiCursor(Protocol):
        """What :func:`check_high_water` needs of a DB-API cursor (PEP 249)."""

        def execute(self, operation: str, /) -> object: ...
        def fetchall(self) -> Sequence[Any]: ...

    class DbApiConnection(Protocol):
        """A DB-API connection: ``sqlite3``'s own, or the one under SQLAlchemy's."""

        def cursor(self) -> DbApiCursor: ...

SUFFIX = ".marker"
_PREFIX = b"smtpq-queue high="
_WIDTH = 20
_HIGH_WATER = "SELECT MAX(seq) FROM sqlite_sequence WHERE name = 'messages'"


def marker_path(database: str) -> str:
    return database + SUFFIX


def read_high(database: str) -> int:
    """The ``high`` the marker records; 0 when there is no marker (or it is unreadable)."""
    try:
        fd = os.open(marker_path(database), os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return 0  # none yet; one that cannot be opened is the ownership checks' business
    try:
        data = os.read(fd, 64)
    finally:
        os.close(fd)
    if not data.startswith(_PREFIX):
        return 0  # not ours (or torn by a crash mid-write): nothing to compare against
    digits = data[len(_PREFIX):len(_PREFIX) + _WIDTH]
    return int(digits) if digits.isdigit() else 0


def record_high(database: str, high: int) -> None:
    """Record that *database* committed message *high* (creating the marker if need be).

    Called after the COMMIT: the mail is stored whatever happens here, so a
    marker that cannot be written costs the check, never the mail.
    """
    try:
        _write_high(database, high)
    except OSError:
        pass


def _write_high(database: str, high: int) -> None:
    line = _PREFIX + b"%0*d\n" % (_WIDTH, high)
    path = marker_path(database)
    flags = os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(path, flags | os.O_CREAT | os.O_EXCL, 0o600)
        os.fchmod(fd, 0o600)  # exactly, whatever the umask
    except FileExistsError:
        fd = os.open(path, flags)
    try:
        os.pwrite(fd, line, 0)
    finally:
        os.close(fd)


def check_present(database: str) -> None:
    """Refuse a database that is missing or empty although the marker says mail was in it."""
    try:
        if os.stat(database).st_size > 0:
            return
        state = "is empty (0 bytes)"
    except FileNotFoundError:
        state = "is missing"
    except OSError:
        return  # not reachable at all: creating or opening it reports why
    high = read_high(database)
    if high > 0:
        raise queue_lost(database, f"the queue database {database} {state}, but it held "
                                   f"mail up to id {high}")


def check_high_water(database: str, connection: DbApiConnection) -> None:
    """Refuse a database whose id counter went back below the marker (a lost WAL tail).

    *connection* is a DB-API connection to *database*, inside a transaction.
    """
    high = read_high(database)
    if high == 0:
        return
    cursor = connection.cursor()
    try:
        cursor.execute(_HIGH_WATER)
        rows = cursor.fetchall()
    except Exception as error:  # noqa: BLE001 - sqlite3 or SQLAlchemy: no sqlite_sequence
        if "no such table" not in str(error):
            raise
        rows = []
    seq = int(rows[0][0]) if rows and rows[0][0] is not None else 0
    if seq < high:
        raise queue_lost(database, f"the queue database {database} ends at message id "
                                   f"{seq}, but it held mail up to id {high}: committed "
                                   "transactions were lost (damaged WAL or an old copy?)")


def queue_lost(database: str, what: str) -> StoreError:
    from smtpq.queue.errors import StoreError  # only on this failure path
    from smtpq.sender.sysexits import ExitCode

    return StoreError(what, exit_code=ExitCode.EX_IOERR, details=(
        "nothing was written; mail may have been lost",
        "restore the database from a backup, or run 'smtpq db check' and 'smtpq db recover',",
        f"or remove {marker_path(database)} to accept the database as it is",
    ))
