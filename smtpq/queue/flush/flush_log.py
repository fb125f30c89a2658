"""The flush log: what a background flusher says, kept in a queue file beside the flush lock.

A background flusher (started by an enqueue, or by a flush for the mail it
left) has no terminal and no one reading its standard error; like msmtpq's
queue log and Postfix's mail log, what it says goes to a file instead:
``….flush.log`` beside the flush lock ``….flush.lock`` (``log_path``).  A
run's lines are what a non-terminal ``smtpq flush`` prints (the mail that
failed, expired or was deferred, ``offline: …``, a failing ``notify_command``,
an error and its exit reason), after a header naming the run (``LogStream``);
a run that says nothing writes nothing.

The log is a queue file (``private_files``): opened ``O_NOFOLLOW`` relative to
its checked directory, the user's own and 0600, appended to (``open_log``);
never a planted link's target or another user's file.  A log over
``ROTATE_AT`` at the start of a run becomes ``….flush.log.1`` (replacing an
older one): the background flusher holds the flush lock then, so no two
flushers rotate at once.  ``read_tail`` reads its last line for ``smtpq
status``: a bounded read, with the same checks.
"""

from __future__ import annotations

import dataclasses
import io
import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from smtpq.queue.errors import UnsafeQueueFile
from smtpq.queue.flush.lock import LOCK_SUFFIX, lock_path
from smtpq.queue.store.private_files import (
    check_private_dir,
    open_private_dir,
    open_private_file,
)

LOG_SUFFIX = ".flush.log"
#: A log larger than this at the start of a background run is set aside as ``….1``.
ROTATE_AT = 1024 * 1024
#: Bytes read from the end of the log to find its last line (``smtpq status``).
TAIL = 4096
_FD_LINK = "/proc/self/fd/{}"


def log_path(database: str, env: Mapping[str, str]) -> str:
    """The flush log of *database*: its flush lock's path, ending ``.flush.log``."""
    return lock_path(database, env).removesuffix(LOCK_SUFFIX) + LOG_SUFFIX


def log_path_beside(lock_fd: int) -> str | None:
    """The flush log beside the lock file open at *lock_fd* (Linux's ``/proc``), None if
    unknown: the way to the log when the settings that name the queue cannot be read."""
    try:
        path = os.readlink(_FD_LINK.format(lock_fd))
    except OSError:
        return None
    return path.removesuffix(LOCK_SUFFIX) + LOG_SUFFIX if path.endswith(LOCK_SUFFIX) else None


def open_log(path: str, *, rotate: bool) -> int:
    """A descriptor appending to the log at *path* (created 0600); first set aside as
    ``PATH.1`` when over ``ROTATE_AT`` and *rotate* (only the holder of the flush lock).

    Raises ``UnsafeQueueFile`` (a link, another user's file, a private mode lost)
    or ``OSError``.
    """
    directory, name = os.path.split(os.path.abspath(path))
    # O_NONBLOCK: a FIFO of the user's own there is refused (not a regular file), not waited on.
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK
    dir_fd, real = open_private_dir(directory)
    try:
        fd = open_private_file(dir_fd, real, name, flags)
        if rotate and os.fstat(fd).st_size > ROTATE_AT:
            os.close(fd)
            # By name, in the checked directory no one else can write to: the file just checked.
            os.rename(name, name + ".1", src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
            fd = open_private_file(dir_fd, real, name, flags)
    finally:
        os.close(dir_fd)
    return fd


class LogStream(io.TextIOBase):
    """Text for the log at *fd*, preceded by the run's header on the first write.

    It replaces a background flusher's ``sys.stdout`` and ``sys.stderr``; every
    write goes straight to the file (appended whole, so lines of a run stay
    together).  A write the file system refuses (a full disk) is dropped: the
    flush goes on, and there is no one else to tell.
    """

    def __init__(self, fd: int, header: Callable[[], str]) -> None:
        super().__init__()
        self.fd = fd
        self.header: Callable[[], str] | None = header

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self.fd

    def write(self, text: str, /) -> int:
        given = len(text)
        if given and self.header is not None:
            text = self.header() + text
            self.header = None
        try:
            _write_all(self.fd, text.encode("utf-8", "backslashreplace"))
        except OSError:
            pass  # see the class doc
        return given


def _write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data):]


def header(pid: int, now: datetime | None = None) -> str:
    """``2026-12-06 08:30:01 smtpq flush (background, pid 1234):``, local time."""
    stamp = (now or datetime.now()).strftime("%Y-%m-%d %H:%M:%S")
    return f"{stamp} smtpq flush (background, pid {pid}):\n"


@dataclasses.dataclass(frozen=True)
class LogTail:
    """The end of a flush log: when it was last written and its last non-empty line,
    or why it was not read (``problem``: not a file of the user's own)."""

    path: str
    modified: datetime | None
    last_line: str | None
    problem: str | None = None


def read_tail(path: str) -> LogTail | None:
    """The end of the log at *path*; None when there is none or it is empty."""
    directory, name = os.path.split(os.path.abspath(path))
    try:
        dir_fd = check_private_dir(directory)
        if dir_fd is None:
            return None
        try:
            fd = open_private_file(dir_fd, directory, name, os.O_RDONLY | os.O_NONBLOCK)
        finally:
            os.close(dir_fd)
    except FileNotFoundError:
        return None
    except UnsafeQueueFile as error:
        return LogTail(path, None, None, error.message)
    except OSError as error:
        return LogTail(path, None, None, error.strerror or str(error))
    try:
        return _tail(path, fd)
    finally:
        os.close(fd)


def _tail(path: str, fd: int) -> LogTail | None:
    status = os.fstat(fd)
    if status.st_size == 0:
        return None
    start = max(status.st_size - TAIL, 0)
    lines = os.pread(fd, TAIL, start).decode("utf-8", "replace").splitlines()
    last = next((i for i in range(len(lines) - 1, -1, -1) if lines[i].strip()), None)
    text = None if last is None else lines[last].strip()
    if text is not None and last == 0 and start > 0:
        text = "…" + text  # the line began before the bytes read
    return LogTail(path, datetime.fromtimestamp(status.st_mtime, UTC), text)
