"""Starting a detached background flush after an enqueue, without waiting for it.

The caller of ``sendmail`` never waits for the network: the flusher runs in a
new session with no terminal, stdin/stdout/stderr on /dev/null, and the
enqueuing process returns at once.  See ``lock`` for why a burst of
enqueues starts at most one flusher.

The flusher is started with ``os.posix_spawn`` where ``/proc/self/fd`` lists the
open descriptors (Linux): it does what ``subprocess.Popen(close_fds=True,
pass_fds=(lock,), start_new_session=True)`` does, without importing
``subprocess`` (with ``threading``, ``signal`` and ``selectors``: about 3 ms
on every enqueue).  Elsewhere ``subprocess`` does it.
"""

from __future__ import annotations

import os
import sys

from smtpq.queue.flush.lock import lock_path, refuse_foreign_holder, try_lock

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (import cost)
if TYPE_CHECKING:
    from collections.abc import Mapping

_FD_DIR = "/proc/self/fd"


def start_background_flush(database: str, env: Mapping[str, str]) -> bool:
    """Start ``smtpq flush`` detached if no flusher holds the lock; True if one was started.

    Raises ``UnsafeQueueFile`` when the lock file is not the user's or another
    user's process holds it, ``OSError`` when the flusher cannot be started.
    """
    path = lock_path(database, env)
    fd = try_lock(path)
    if fd is None:
        # A flusher is running; it re-checks for new mail before exiting.  Unless
        # the process that took the lock is another user's (cheap look only).
        refuse_foreign_holder(path, thorough=False)
        return False
    try:
        _spawn(fd, env)
    finally:
        os.close(fd)  # the child's copy of the descriptor keeps the lock
    return True


def _spawn(fd: int, env: Mapping[str, str]) -> None:
    argv = [sys.executable, "-m", "smtpq", "flush", "--background", "--lock-fd", str(fd)]
    spawn_detached(argv, fd, env)


def spawn_detached(argv: list[str], keep_fd: int, env: Mapping[str, str]) -> None:
    """Start *argv* in a new session, stdio on /dev/null, with *keep_fd* and nothing else."""
    if not hasattr(os, "posix_spawn") or not os.path.isdir(_FD_DIR):
        _popen(argv, keep_fd, env)
        return
    devnull = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
    try:
        os.set_inheritable(keep_fd, True)  # the caller closes its copy right after
        keep = {0, 1, 2, keep_fd}
        actions: list[tuple[int, ...]] = [
            (os.POSIX_SPAWN_DUP2, devnull, 0), (os.POSIX_SPAWN_DUP2, devnull, 1),
            (os.POSIX_SPAWN_DUP2, devnull, 2)]
        # close_fds: nothing the caller left open (a pipe, a socket) reaches the
        # long-lived flusher, which would otherwise hold it open after we exit.
        actions += [(os.POSIX_SPAWN_CLOSE, other) for other in _open_fds() if other not in keep]
        try:
            os.posix_spawn(argv[0], argv, dict(env), file_actions=actions, setsid=True)
        except NotImplementedError:  # a libc without POSIX_SPAWN_SETSID
            _popen(argv, keep_fd, env)
    finally:
        os.close(devnull)


def _open_fds() -> list[int]:
    """The descriptors open in this process (including the one listing them, closed by then)."""
    return [int(name) for name in os.listdir(_FD_DIR) if name.isdigit()]


def _popen(argv: list[str], fd: int, env: Mapping[str, str]) -> None:
    import subprocess

    with open(os.devnull, "r+b") as devnull:
        subprocess.Popen(  # noqa: S603 - our own interpreter and module, no shell
            argv, stdin=devnull, stdout=devnull, stderr=devnull, pass_fds=(fd,),
            start_new_session=True, close_fds=True, env=dict(env),
        )
