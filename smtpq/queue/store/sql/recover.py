"""``smtpq db recover``: salvage every intact message of a damaged SQLite queue.

The steps, with the queue held so that nothing else reads or writes it:

1. Lock: a connection in ``locking_mode=EXCLUSIVE`` takes the database;
   SQLite refuses it while any other process has the queue open (a flusher,
   an enqueue), and every opener waits (then gives up with EX_TEMPFAIL,
   keeping its mail) until the recovery is done.
2. Keep aside: the damaged file and its ``-wal`` are copied, untouched, to
   ``queue.sqlite3.damaged-<UTC time>`` (``-wal``).
3. Salvage from a scratch copy: SQLite's own ``.recover`` (the ``sqlite3``
   command line shell, when installed: it reads every page it can, even past
   a damaged b-tree) rebuilds the tables; without it the rows are read one
   message at a time and what raises is skipped.
4. Rebuild: a fresh database at the current schema receives each message
   that is whole (its recipients, its content chunks 0..n-1 adding up to its
   size, its history).  A message whose content or recipients are not whole
   is *not* copied (it would go out truncated or to nobody): it is named as
   lost, and its remains stay in the kept-aside file.  Ids are kept, and the
   id counter is set past every id the damaged queue or its marker knew, so
   no id is ever used twice.
5. Swap: the fresh database is written over the damaged one through the
   locked connection (SQLite's backup API), so a process that was waiting
   continues on the recovered queue; the marker is moved to the new counter.
   When the file is so damaged that SQLite cannot lock it at all (not a
   database), it is renamed aside instead and the fresh file takes its name.

With ``output`` the queue is left as it is and the salvage is written there.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

from smtpq.queue.errors import StoreError
from smtpq.queue.states import MessageStatus
from smtpq.queue.store import marker as queue_marker
from smtpq.queue.store.sqlite_file import PRAGMAS
from smtpq.sender.sysexits import ExitCode

_KNOWN = frozenset(status.value for status in MessageStatus)
#: How long to wait for other processes to let go of the queue.
LOCK_WAIT_S = 5.0


class RecoverReport(NamedTuple):
    saved: list[int]
    lost: dict[int, str]  # message id -> why it was not saved
    output: str  # where the salvaged queue is
    kept_aside: list[str]  # the damaged files, as kept
    method: str  # ".recover" or "row by row"
    unaccounted: tuple[int, int] | None  # ids the marker knew beyond the last readable one


def recover(path: str, output: str | None = None) -> RecoverReport:
    """Salvage the queue at *path* (into *output*, or in its place); see the module doc."""
    if output is not None and os.path.lexists(output):
        raise StoreError(f"{output} exists already; name a new file",
                         exit_code=ExitCode.EX_CANTCREAT)
    if not os.path.exists(path):
        raise StoreError(f"there is no queue database at {path}", exit_code=ExitCode.EX_NOINPUT)
    try:
        return _recover(path, output)
    except sqlite3.Error as error:  # the fresh database or the lock failed: report, never a trace
        from smtpq.queue.errors import sqlite_error

        raise sqlite_error(error, path) from None


def _recover(path: str, output: str | None) -> RecoverReport:
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    directory = os.path.dirname(os.path.abspath(path))
    high = queue_marker.read_high(path)
    with tempfile.TemporaryDirectory(prefix=".smtpq-recover-", dir=directory) as scratch, \
            _exclusive(path) as locked:
        aside = [] if output is not None else _keep_aside(path, f"{path}.damaged-{stamp}")
        source, method = _salvage_source(path, scratch)
        fresh = output or os.path.join(scratch, "fresh.sqlite3")
        rebuilt = _rebuild(source, fresh, high)
        if output is None:
            _swap(locked, fresh, path, f"{path}.damaged-{stamp}")
            queue_marker.record_high(path, rebuilt.seq)
    known = max([*rebuilt.saved, *rebuilt.mentioned], default=0)
    unaccounted = (known + 1, high) if high > known else None
    return RecoverReport(rebuilt.saved, rebuilt.lost, output or path, aside, method, unaccounted)


class _Rebuilt(NamedTuple):
    saved: list[int]
    lost: dict[int, str]
    mentioned: list[int]  # every id the damaged queue still names
    seq: int  # the new database's id counter


# -- 1. lock -----------------------------------------------------------------------

@contextmanager
def _exclusive(path: str) -> Iterator[sqlite3.Connection | None]:
    """The queue locked for this process alone; None when SQLite cannot lock it (not a database)."""
    connection = sqlite3.connect(path, timeout=LOCK_WAIT_S, isolation_level=None)
    try:
        connection.execute("PRAGMA locking_mode=EXCLUSIVE")
        try:
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("SELECT COUNT(*) FROM sqlite_schema").fetchall()
            connection.execute("COMMIT")  # the lock stays: exclusive mode keeps it
        except sqlite3.OperationalError as error:
            if "locked" in str(error) or "busy" in str(error):
                raise StoreError(
                    f"the queue database {path} is in use by another process; stop "
                    "flushes and mail programs, then run smtpq db recover again",
                    exit_code=ExitCode.EX_TEMPFAIL) from None
            yield None
            return
        except sqlite3.DatabaseError:
            yield None
            return
        yield connection
    finally:
        connection.close()


# -- 2. keep aside -----------------------------------------------------------------

def _keep_aside(path: str, aside: str) -> list[str]:
    kept = []
    for suffix in ("", "-wal"):
        if os.path.exists(path + suffix):
            _copy(path + suffix, aside + suffix)
            kept.append(aside + suffix)
    return kept


def _copy(source: str, target: str) -> None:
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                 0o600)
    with os.fdopen(fd, "wb") as out, open(source, "rb") as data:
        shutil.copyfileobj(data, out)
        out.flush()
        os.fsync(out.fileno())


# -- 3. salvage --------------------------------------------------------------------

def _salvage_source(path: str, scratch: str) -> tuple[str, str]:
    """A database to read the salvage from, and how it was made."""
    copy = os.path.join(scratch, "damaged.sqlite3")
    for suffix in ("", "-wal"):
        if os.path.exists(path + suffix):
            shutil.copyfile(path + suffix, copy + suffix)
    shell = shutil.which("sqlite3")
    if shell is not None:
        recovered = os.path.join(scratch, "recovered.sqlite3")
        if _dot_recover(shell, copy, recovered):
            return recovered, ".recover"
    return copy, "row by row"


def _dot_recover(shell: str, damaged: str, recovered: str) -> bool:
    """``sqlite3 damaged .recover | sqlite3 recovered``; False when the shell cannot."""
    try:
        dump = subprocess.run([shell, damaged, ".recover"], capture_output=True, check=False,
                              timeout=3600)
        if dump.returncode != 0 or not dump.stdout:
            return False
        load = subprocess.run([shell, recovered], input=dump.stdout, capture_output=True,
                              check=False, timeout=3600)
    except (OSError, subprocess.SubprocessError):
        return False
    return load.returncode == 0 and _has_messages(recovered)


def _has_messages(database: str) -> bool:
    try:
        with _closing(sqlite3.connect(database)) as connection:
            connection.execute("SELECT id FROM messages LIMIT 1").fetchall()
    except sqlite3.Error:
        return False
    return True


# -- 4. rebuild --------------------------------------------------------------------

def _rebuild(source: str, fresh: str, marker_high: int) -> _Rebuilt:
    """Copy every whole message of *source* into a new database *fresh*."""
    from smtpq.queue.store.sql.migrate import upgrade_sqlite_file

    upgrade_sqlite_file(fresh)
    saved: list[int] = []
    lost: dict[int, str] = {}
    with _closing(sqlite3.connect(source, isolation_level=None)) as src, \
            _closing(sqlite3.connect(fresh, isolation_level=None)) as out:
        for pragma in PRAGMAS:
            out.execute(pragma).fetchall()
        out.execute("BEGIN IMMEDIATE")
        candidates = _candidate_ids(src)
        for message_id in candidates:
            reason = _copy_message(src, out, message_id)
            if reason is None:
                saved.append(message_id)
            else:
                lost[message_id] = reason
        _copy_rows(src, out, "flush_runs")
        seq = max([marker_high, _sequence(src), *candidates])
        out.execute("DELETE FROM sqlite_sequence WHERE name = 'messages'")
        out.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('messages', ?)", (seq,))
        out.execute("COMMIT")
    mentioned = [message_id for message_id in candidates if lost.get(message_id, "x")]
    lost = {message_id: why for message_id, why in lost.items() if why}
    return _Rebuilt(saved, lost, mentioned, seq)


def _candidate_ids(src: sqlite3.Connection) -> list[int]:
    """Every message id the damaged queue mentions anywhere, in order."""
    ids: set[int] = set()
    for query in ("SELECT id FROM messages", "SELECT message_id FROM recipients",
                  "SELECT DISTINCT message_id FROM message_chunks",
                  "SELECT message_id FROM attempts"):
        ids.update(_tolerant_ids(src, query))
    # A damaged messages b-tree may hide rows a point lookup still finds.
    last = max([_sequence(src), *ids], default=0)
    if last <= 1_000_000:
        ids.update(range(1, last + 1))
    return sorted(ids)


def _tolerant_ids(src: sqlite3.Connection, query: str) -> set[int]:
    ids: set[int] = set()
    try:
        for (value,) in src.execute(query):
            if isinstance(value, int):
                ids.add(value)
    except sqlite3.Error:
        pass  # what was read before the damage counts
    return ids


def _sequence(src: sqlite3.Connection) -> int:
    try:
        row = src.execute("SELECT MAX(seq) FROM sqlite_sequence WHERE name = 'messages'").fetchone()
    except sqlite3.Error:
        return 0
    return int(row[0]) if row and isinstance(row[0], int) else 0


def _copy_message(src: sqlite3.Connection, out: sqlite3.Connection, message_id: int) -> str | None:
    """Copy one message if it is whole; None when copied, else why not ('' = no such message)."""
    out.execute("SAVEPOINT message")
    try:
        reason = _copy_whole(src, out, message_id)
    except sqlite3.Error as error:
        reason = f"unreadable ({error})"
    if reason is None:
        out.execute("RELEASE message")
    else:
        out.execute("ROLLBACK TO message")
        out.execute("RELEASE message")
    return reason


def _copy_whole(src: sqlite3.Connection, out: sqlite3.Connection, message_id: int) -> str | None:
    row = _row(src, "SELECT * FROM messages WHERE id = ?", message_id)
    if row is None:
        return _remains(src, message_id)
    if row["status"] not in _KNOWN:
        return f"unknown status {row['status']!r}"
    _insert(out, "messages", row)
    recipients = _rows(src, "SELECT * FROM recipients WHERE message_id = ? ORDER BY position",
                       message_id)
    if not recipients:
        return "no recipient left"
    for recipient in recipients:
        _insert(out, "recipients", recipient)
    size = expected = 0
    for seq, data in src.execute("SELECT seq, data FROM message_chunks WHERE message_id = ? "
                                 "ORDER BY seq", (message_id,)):
        if seq != expected or not isinstance(data, bytes):
            return f"content incomplete (chunk {expected} missing)"
        out.execute("INSERT INTO message_chunks (message_id, seq, data) VALUES (?, ?, ?)",
                    (message_id, seq, data))
        size, expected = size + len(data), expected + 1
    # A sent mail's content is dropped when it is sent (keep_sent_content = false).
    dropped = expected == 0 and row["status"] == MessageStatus.SENT
    if size != row["size"] and not dropped:
        return f"content incomplete ({size} of {row['size']} bytes)"
    for attempt in _tolerant_rows(src, "SELECT * FROM attempts WHERE message_id = ? ORDER BY id",
                                  message_id):
        _insert(out, "attempts", attempt)
    return None


def _remains(src: sqlite3.Connection, message_id: int) -> str:
    """Why an id without a readable message row is lost ('' when nothing of it exists)."""
    for table in ("recipients", "message_chunks", "attempts"):
        try:
            if src.execute(f"SELECT 1 FROM {table} WHERE message_id = ? LIMIT 1",
                           (message_id,)).fetchone():
                return "its message row is lost (recipients or content remain)"
        except sqlite3.Error:
            continue
    return ""


def _row(src: sqlite3.Connection, query: str, key: int) -> dict[str, Any] | None:
    rows = _rows(src, query, key)
    return rows[0] if rows else None


def _rows(src: sqlite3.Connection, query: str, key: int) -> list[dict[str, Any]]:
    cursor = src.execute(query, (key,))
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]


def _tolerant_rows(src: sqlite3.Connection, query: str, key: int) -> list[dict[str, Any]]:
    try:
        return _rows(src, query, key)
    except sqlite3.Error:
        return []  # the history is a record, not the mail: keep the mail without it


def _insert(out: sqlite3.Connection, table: str, row: dict[str, Any]) -> None:
    columns = [name for name in row if name in _columns(out, table)]
    out.execute(f"INSERT INTO {table} ({', '.join(columns)}) "
                f"VALUES ({', '.join('?' * len(columns))})", [row[name] for name in columns])


def _columns(out: sqlite3.Connection, table: str) -> frozenset[str]:
    return frozenset(row[1] for row in out.execute(f"PRAGMA table_info({table})"))


def _copy_rows(src: sqlite3.Connection, out: sqlite3.Connection, table: str) -> None:
    try:
        cursor = src.execute(f"SELECT * FROM {table} ORDER BY id")
        names = [column[0] for column in cursor.description]
        for values in cursor:
            _insert(out, table, dict(zip(names, values, strict=True)))
    except sqlite3.Error:
        pass  # a journal of past flushes: what was readable is kept


# -- 5. swap -----------------------------------------------------------------------

def _swap(locked: sqlite3.Connection | None, fresh: str, path: str, aside_name: str) -> None:
    """Put *fresh* in place of the damaged queue at *path* (see the module doc)."""
    if locked is not None:
        locked.execute("PRAGMA synchronous=FULL")
        with _closing(sqlite3.connect(fresh)) as source:
            source.backup(locked)
        return
    # Not even lockable: nobody can use it either; rename it aside (over the copy).
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.replace(path + suffix, aside_name + suffix)
    os.chmod(fresh, 0o600)
    os.replace(fresh, path)
    fd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def _closing(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    try:
        yield connection
    finally:
        connection.close()

