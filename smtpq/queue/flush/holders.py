"""Who holds a claim: the worker id written into ``claimed_by``, and whether it still lives.

A flush worker claims mail as ``host:pid:starttime``: the host name, the
process id, and the process's start time (field 22 of ``/proc/PID/stat``,
clock ticks since boot).  The start time makes the id unique on a host for as
long as it is up: a pid the kernel has given to another process since does
not pass for the flusher that died (``alive``).  Claims written before the
start time was recorded (``host:pid``) are judged by the pid alone.

Liveness is known only on the holder's own host: elsewhere it is ``None``
(unknown); the lease (and on PostgreSQL the claimer's session) decides there.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Holder:
    """The flusher named by a ``claimed_by`` value."""

    host: str
    pid: int
    started: int | None = None  # /proc/PID/stat starttime; None when not recorded

    @property
    def name(self) -> str:
        """``host:pid``, as people read it."""
        return f"{self.host}:{self.pid}"


def this_host() -> str:
    """This machine's host name (the kernel's node name, which ``socket.gethostname()`` returns)."""
    return os.uname().nodename


def start_time(pid: int) -> int | None:
    """When process *pid* started (clock ticks since boot), or None: gone, or no /proc."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            text = stat.read()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces or ")":
    # count the fields after its last ")".  starttime is field 22, the 20th after it.
    fields = text[text.rfind(b")") + 2:].split()
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


def worker_id(pid: int | None = None) -> str:
    """The ``claimed_by`` value of the process *pid* (default: this one)."""
    pid = os.getpid() if pid is None else pid
    started = start_time(pid)
    suffix = "" if started is None else f":{started}"
    return f"{this_host()}:{pid}{suffix}"


def parse(claimed_by: str | None) -> Holder | None:
    """The holder named by *claimed_by* (``host:pid[:starttime]``), or None if unreadable."""
    if not claimed_by:
        return None
    parts = claimed_by.rsplit(":", 2)
    if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
        return Holder(parts[0], int(parts[1]), int(parts[2]))
    host, _, pid = claimed_by.rpartition(":")
    if host and pid.isdigit():
        return Holder(host, int(pid))
    return None


def alive(holder: Holder) -> bool | None:
    """Whether *holder* still runs: True/False on its own host, None (unknown) elsewhere."""
    if holder.host != this_host():
        return None
    if holder.started is not None and os.path.isdir("/proc"):
        return start_time(holder.pid) == holder.started
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: it exists
    return True


def is_dead(claimed_by: str | None) -> bool:
    """Whether *claimed_by* names a flusher of this host that is gone (its claims are free)."""
    holder = parse(claimed_by)
    return holder is not None and alive(holder) is False
