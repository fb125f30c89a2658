"""The per-host flush lock: take it, hand it off, adopt it, and say who holds it.

One flusher per queue: the lock is an ``flock`` on a file next to the
database.  An enqueue that finds the lock free takes it and passes the locked
descriptor to the flusher it starts (``trigger``; the flusher adopts it,
``--lock-fd``): the lock is therefore held from that moment, and a burst of
1,000 enqueues starts one flusher, not 1,000.  An enqueue that finds it taken
does nothing: the running flusher re-checks for new mail after it lets the
lock go (see ``smtpq.queue.flush.flusher``), so no mail waits for the next cron
tick.  ``parallel_connections`` workers hold their flusher's lock (the same
open file description, inherited) while they live.

Who holds it, read two ways.  Whoever takes the lock writes ``HOST PID`` into
the file (``stamped_holder`` reads it back), so a second ``smtpq flush`` can
say which flusher is busy.  And a lock held by another user never blocks a
queue silently (``refuse_foreign_holder``): the lock file is the user's and
0600 (``private_files``), so another user can hold its ``flock`` only through
a descriptor opened while its owner or mode was wrong, or as root.  When the
lock is found taken, the kernel's lock table (``/proc/locks``, Linux) names
the process that took it (``flock_holder``); its ``/proc`` entry names its
user.  That process may have exited after handing the lock down (an enqueue
passes it to the flusher it starts), and then a thorough look (a foreground
flush) finds who has the file open in ``/proc/*/fd``; a process whose
descriptors the user may not see is another user's.  Elsewhere than Linux
nothing is known, and a taken lock means another flush of ours.

Loaded by every enqueue (``trigger``): of the standard library, ``os`` and ``fcntl`` only.
"""

from __future__ import annotations

import fcntl
import os

from smtpq.queue.store.sqlite_file import sqlite_path

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (import cost)
if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

LOCK_SUFFIX = ".flush.lock"
_PROC = "/proc"


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


def refuse_foreign_holder(path: str, *, thorough: bool) -> None:
    """Raise ``UnsafeQueueFile`` when the taken lock *path* is held by another user's process.

    *thorough*: also look through every visible process's open files when the
    process that took the lock has exited (milliseconds; not for each enqueue).
    """
    try:
        status = os.stat(path, follow_symlinks=False)
    except OSError:
        return  # gone meanwhile: nothing to report
    euid = os.geteuid()
    holder = flock_holder(status)
    if holder is None:
        return
    pid, uid = holder
    if uid is None and thorough:
        uid = _foreign_opener(status, euid)
    if uid is not None and uid != euid:
        _refuse(path, pid, uid, euid)


def flock_holder(status: os.stat_result) -> tuple[int, int | None] | None:
    """(pid, uid) of the process that took the ``flock`` on the file of *status*.

    ``uid`` is None when that process has exited; None when no lock is listed.
    """
    # /proc/locks: "1: FLOCK  ADVISORY  WRITE 4242 fe:00:123456 0 EOF", the device
    # as MAJOR:MINOR in hex (fs/locks.c, lock_get_status); waiters are "1: -> FLOCK …".
    key = f"{os.major(status.st_dev):02x}:{os.minor(status.st_dev):02x}:{status.st_ino}"
    try:
        with open(os.path.join(_PROC, "locks"), encoding="ascii", errors="replace") as table:
            for line in table:
                fields = line.split()
                if len(fields) >= 6 and fields[1] == "FLOCK" and fields[5] == key:
                    pid = int(fields[4])
                    return pid, _uid_of(pid)
    except (OSError, ValueError):
        pass
    return None


def _uid_of(pid: int) -> int | None:
    """The effective uid of *pid*, None when it has exited (a zombie has too).

    From ``status`` ("State: Z (zombie)", then "Uid: real effective saved fs"),
    readable by anyone: the owner of ``/proc/PID`` is root for a process that
    changed its uids (it is no longer "dumpable", proc(5)).
    """
    try:
        with open(os.path.join(_PROC, str(pid), "status"), encoding="ascii",
                  errors="replace") as status:
            for line in status:
                if line.startswith("State:") and line.split()[1:2] == ["Z"]:
                    return None
                if line.startswith("Uid:"):
                    return int(line.split()[2])
    except (OSError, ValueError, IndexError):
        pass
    return None


def _foreign_opener(status: os.stat_result, euid: int) -> int | None:
    """The uid of another user with the file open, else None (only our own processes do).

    A process whose descriptors we may not list is another user's: when none of
    ours has the file open, the lock can only be held there (reported as uid -1).
    """
    ours = False
    hidden = False
    for pid, fds in _descriptor_dirs():
        if fds is None:
            hidden = True
            continue
        if any(_same_file(os.path.join(fds, name), status) for name in _listdir(fds)):
            uid = _uid_of(pid)
            if uid is not None and uid != euid:
                return uid
            ours = ours or uid == euid
    return -1 if hidden and not ours else None


def _descriptor_dirs() -> Iterator[tuple[int, str | None]]:
    """Each process's ``/proc/PID/fd`` directory, None when we may not list it."""
    for name in _listdir(_PROC):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        fds = os.path.join(_PROC, name, "fd")
        try:
            os.listdir(fds)
        except PermissionError:
            yield int(name), None
            continue
        except OSError:
            continue  # exited meanwhile
        yield int(name), fds


def _listdir(path: str) -> list[str]:
    try:
        return os.listdir(path)
    except OSError:
        return []


def _same_file(link: str, status: os.stat_result) -> bool:
    try:
        other = os.stat(link)
    except OSError:
        return False
    return (other.st_dev, other.st_ino) == (status.st_dev, status.st_ino)


def _refuse(path: str, pid: int, uid: int, euid: int) -> None:
    from smtpq.queue.errors import UnsafeQueueFile
    from smtpq.queue.store.private_files import user_name

    who = "a process of another user" if uid < 0 else f"process {pid} of user {user_name(uid)}"
    raise UnsafeQueueFile(
        f"the flush lock {path} is held by {who}, not by {user_name(euid)}: no mail of this "
        "queue is delivered while it holds it; it could open the lock file only while the "
        "file's owner or mode was wrong, or as root: stop that process")
