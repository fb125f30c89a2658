"""Starting a detached background flush after an enqueue, without waiting for it.

The caller of ``sendmail`` never waits for the network: the flusher runs in a
new session with no terminal, stdin/stdout/stderr on /dev/null, and the
enqueuing process returns at once.  See ``flushlock`` for why a burst of
enqueues starts at most one flusher.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping

from smtpq.queue.flushlock import lock_path, try_lock


def start_background_flush(database: str, env: Mapping[str, str]) -> bool:
    """Start ``smtpq flush`` detached if no flusher holds the lock; True if one was started."""
    fd = try_lock(lock_path(database, env))
    if fd is None:
        return False  # a flusher is running; it re-checks for new mail before exiting
    try:
        _spawn(fd, env)
    finally:
        os.close(fd)  # the child's copy of the descriptor keeps the lock
    return True


def _spawn(fd: int, env: Mapping[str, str]) -> None:
    argv = [sys.executable, "-m", "smtpq", "flush", "--background", "--lock-fd", str(fd)]
    with open(os.devnull, "r+b") as devnull:
        subprocess.Popen(  # noqa: S603 - our own interpreter and module, no shell
            argv, stdin=devnull, stdout=devnull, stderr=devnull, pass_fds=(fd,),
            start_new_session=True, close_fds=True, env=dict(env),
        )
