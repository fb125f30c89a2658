"""``notify_command``: the user's own hook, run once per failed, expired or delayed message.

Run like msmtp's ``passwordeval``, through the shell (``/bin/sh -c``), with
the facts in ``SMTPQ_NOTIFY_*`` environment variables (so a laptop user can
wire ``notify-send``), no input, its output captured, and ``NOTIFY_TIMEOUT``
to finish: then it is killed with its whole process group.  Whatever it does,
the queue goes on: a failure is reported through ``warn`` (stderr), never
raised out of the flush.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Callable, Mapping

#: Seconds the hook may run; it runs under the flush lock, so it must not hang the queue.
NOTIFY_TIMEOUT = 30.0
#: Characters of the hook's output quoted in a failure report.
OUTPUT_SHOWN = 200


def notify(command: str, variables: Mapping[str, str], env: Mapping[str, str],
           warn: Callable[[str], None]) -> bool:
    """Run *command* with *variables* added to *env*; whether it succeeded (exit 0)."""
    # An environment string cannot hold NUL; a header could (RFC 5322 forbids it, mail has it).
    problem = _run(command, {**env, **{k: v.replace("\0", "") for k, v in variables.items()}})
    if problem is not None:
        warn(f"notify_command for message {variables.get('SMTPQ_NOTIFY_ID', '?')} {problem}")
    return problem is None


def _run(command: str, env: Mapping[str, str]) -> str | None:
    """Run *command*; None on success, else what went wrong."""
    try:
        # A session of its own: a timeout kills everything the hook started.
        child = subprocess.Popen(["/bin/sh", "-c", command], stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 env=dict(env), start_new_session=True)
    except (OSError, ValueError) as error:  # ValueError: a NUL in the inherited environment
        return f"could not be started: {getattr(error, 'strerror', None) or error}"
    try:
        output, _ = child.communicate(timeout=NOTIFY_TIMEOUT)
    except subprocess.TimeoutExpired:
        _kill_group(child)
        return f"did not finish within {NOTIFY_TIMEOUT:g} s and was killed"
    if child.returncode != 0:
        shown = output.decode(errors="replace").strip()[-OUTPUT_SHOWN:]
        return f"failed (exit status {child.returncode})" + (f": {shown}" if shown else "")
    return None


def _kill_group(child: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, signal.SIGKILL)  # its own session: pgid == pid
    try:
        child.communicate(timeout=5)  # reap it and drain its pipe
    except subprocess.TimeoutExpired:  # a descendant that left the group holds the pipe
        if child.stdout is not None:
            child.stdout.close()
        child.wait()
