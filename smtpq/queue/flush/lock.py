"""The per-host flush lock: one flusher per queue, and a hand-off from enqueue to flusher.

The lock is an ``flock`` on a file next to the database (``filelock``'s Unix
lock is the same ``flock``, so both interoperate).  An enqueue that finds the
lock free takes it and passes the locked descriptor to the flusher it starts:
the lock is therefore held from that moment, and a burst of 1,000 enqueues
starts one flusher, not 1,000.  An enqueue that finds it taken does nothing:
the running flusher re-checks for new mail after it lets the lock go (see
``smtpq.queue.flush.worker``), so no mail waits for the next cron tick.

Whoever takes the lock writes ``HOST PID`` into the file (``stamped_holder``
reads it back), so a second ``smtpq flush`` can say which flusher is busy.
"""

from __future__ import annotations

import fcntl
import os

from smtpq.queue.store.sqlite_file import sqlite_path

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (import cost)
if TYPE_CHECKING:
    from collections.abc import Mapping

LOCK_SUFFIX = ".flush.lock"


def lock_path(database: str, env: Mapping[str, str]) -> str:
    """The lock file for *database*: beside a SQLite file, else in the user's data dir."""
    path = sqlite_path(database)
    if path is not None:
        return path + LOCK_SUFFIX
    data_home = env.get("XDG_DATA_HOME") or os.path.join(env.get("HOME", "/"), ".local", "share")
    import hashlib  # only for server databases: OpenSSL's hashes cost 2 ms to load

    digest = hashlib.sha256(database.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    return os.path.join(data_home, "smtpq", f"flush-{digest}{LOCK_SUFFIX}")


def try_lock(path: str) -> int | None:
    """An open descriptor holding the exclusive lock on *path*, or None if it is taken.

    The lock file is a queue file like the database (``private_files``): its
    directories are checked from ``/`` down (created 0700 where missing), and
    it is opened relative to the checked directory with ``O_NOFOLLOW`` and
    checked again on the open descriptor, so a planted link cannot make
    smtpq create or lock a file elsewhere.  Raises ``UnsafeQueueFile``.
    """
    from smtpq.queue.store.private_files import open_private_dir, open_private_file

    directory, name = os.path.split(os.path.abspath(path))
    dir_fd, real = open_private_dir(directory)
    try:
        fd = open_private_file(dir_fd, real, name, os.O_RDWR | os.O_CREAT)
    finally:
        os.close(dir_fd)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    except BaseException:
        os.close(fd)
        raise
    _stamp(fd)
    return fd


def adopt_lock(fd: int) -> int:
    """Check that an inherited descriptor really holds the lock (flock is idempotent)."""
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.set_inheritable(fd, False)
    _stamp(fd)  # the flusher now holds it, not the enqueue that started it
    return fd


def _stamp(fd: int) -> None:
    """Write who holds the lock into the file: ``HOST PID``."""
    record = f"{os.uname().nodename} {os.getpid()}\n".encode()
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, record, 0)
    except OSError:
        pass  # only informative: the flock is what excludes


def stamped_holder(path: str) -> str | None:
    """``host:pid`` of the flusher holding the lock at *path*, as it wrote it; None if unknown."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)  # never through a link
        try:
            host, pid = os.read(fd, 300).decode("utf-8", "replace").split()
        finally:
            os.close(fd)
    except (OSError, ValueError):
        return None
    return f"{host}:{pid}"


def release(fd: int) -> None:
    """Let the lock go (closing the last descriptor releases the flock)."""
    try:
        fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
