"""Runs the msmtp mode a command line asks for (everything but the queue modes)."""

from __future__ import annotations

import sys

from smtpq.sender.options import Mode

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (import cost)
if TYPE_CHECKING:
    from collections.abc import Mapping

    from smtpq.sender.options import CommandLine


def run_sender_mode(cmd: CommandLine, *, prog: str, env: Mapping[str, str]) -> int:
    """Version/help output first (as msmtp), then the mode; returns the exit code."""
    _print_version_and_help(cmd, prog, env)
    if cmd.mode in (Mode.VERSION, Mode.HELP):
        return 0
    stdin = sys.stdin.buffer
    if cmd.mode == Mode.PRETEND:
        from smtpq.sender.modes.pretend import run_pretend

        return run_pretend(cmd, env=env, stdin=stdin)
    if cmd.mode == Mode.CONFIGURE:
        from smtpq.sender.modes.configure import run_configure

        return run_configure(cmd, env=env, prog=prog)
    if cmd.mode == Mode.SERVERINFO:
        from smtpq.sender.modes.serverinfo import run_serverinfo

        return run_serverinfo(cmd, env=env, prog=prog)
    if cmd.mode == Mode.RMQS:
        from smtpq.sender.modes.rmqs import run_rmqs

        return run_rmqs(cmd, env=env, prog=prog)
    from smtpq.sender.modes.send import run_send_now

    return run_send_now(cmd, env=env, stdin=stdin, prog=prog)


def _print_version_and_help(cmd: CommandLine, prog: str, env: Mapping[str, str]) -> None:
    if cmd.print_version:
        from smtpq.sender.config.paths import system_config_path, user_config_path
        from smtpq.sender.modes.version import version_text

        sys.stdout.write(version_text(prog, env=env, system_file=system_config_path(env),
                                      user_file=user_config_path(env)))
    if cmd.print_help:
        from smtpq.sender.options.helptext import help_text

        sys.stdout.write(help_text(prog))
    sys.stdout.flush()
