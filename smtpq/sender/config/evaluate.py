"""Running the commands of ``eval CMD`` and ``passwordeval CMD`` as msmtp does.

Both run ``/bin/sh -c CMD`` (msmtp uses ``popen``), ignore the exit status and
stderr (which passes through to ours), and take the first line of stdout with
its ``\\n`` and one ``\\r`` removed.  No output at all is the error
``cannot read output of 'CMD'``: for ``eval`` it is an input error of the file
(``FILE: cannot read output of 'CMD'``, exit 74), for ``passwordeval`` a
configuration error without file name (exit 78).  A lone ``\\n`` is a valid,
empty line (verified).

Deviation: the command's stdin is ``/dev/null``.  msmtp lets it inherit stdin,
which at that point holds the rest of the mail; the man page already tells
users that the command "must not mess with standard input", and a queue must
never let a helper eat the message.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from smtpq.sender.config.diagnostics import sanitize
from smtpq.sender.config.lexer import first_output_line
from smtpq.sender.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    #: Runs a command and returns the first line of its output, or None when it printed nothing.
    Evaluator = Callable[[str], "str | None"]


def shell_first_line(command: str, env: Mapping[str, str] | None = None) -> str | None:
    """``popen(command)`` + one ``fgets``: the first output line, None without output.

    *env* is the environment the command sees (default: ours).
    """
    import subprocess  # 3 ms of imports: only when a command is run

    try:
        proc = subprocess.run(
            ["/bin/sh", "-c", command], env=None if env is None else dict(env),
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, check=False,
        )
    except (OSError, ValueError):
        # popen() failing (no /bin/sh, NUL in the command) reads no output either.
        return None
    if not proc.stdout:
        return None
    return first_output_line(proc.stdout)


def bound_to(env: Mapping[str, str]) -> Evaluator:
    """The default evaluator, running commands in *env*."""
    return lambda command: shell_first_line(command, env)


def cannot_read_output(command: str) -> str:
    return sanitize(f"cannot read output of '{command}'")


def password_from_command(
    command: str, *, env: Mapping[str, str] | None = None, evaluator: Evaluator | None = None,
) -> str:
    """The password ``passwordeval`` yields; ConfigError (78) as msmtp when there is none."""
    line = evaluator(command) if evaluator is not None else shell_first_line(command, env)
    if line is None:
        raise ConfigError(cannot_read_output(command))
    return line
