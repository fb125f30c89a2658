"""Who holds a queue's flush lock: a lock held by another user never blocks a queue silently.

The lock file is the user's and 0600 (``private_files``), so another user can
hold its ``flock`` only through a descriptor opened while its owner or mode
was wrong, or as root.  When the lock is found taken, the kernel's lock table
(``/proc/locks``, Linux) names the process that took it; its ``/proc`` entry
names its user.  That process may have exited after handing the lock down (an
enqueue passes it to the flusher it starts), and then a thorough look (a
foreground flush) finds who has the file open in ``/proc/*/fd``; a process
whose descriptors the user may not see is another user's.  Elsewhere than
Linux nothing is known, and a taken lock means another flush of ours.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

_PROC = "/proc"


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
    holder = lock_holder(status)
    if holder is None:
        return
    pid, uid = holder
    if uid is None and thorough:
        uid = _foreign_opener(status, euid)
    if uid is not None and uid != euid:
        _refuse(path, pid, uid, euid)


def lock_holder(status: os.stat_result) -> tuple[int, int | None] | None:
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
