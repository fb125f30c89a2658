"""``SmtpqGroup``: a click group whose commands fail only through the error boundary.

Every exception a command raises — an ``SmtpqError``, a bug, Ctrl-C, click's
own command-line errors — is handed to ``smtpq.cli.boundary``, which prints
``PROG: message`` (never a traceback) and picks the sysexits code; click's
usage errors end with EX_USAGE (64) instead of click's 2.  click's control
flow (``--help``, ``--version``, ``ctx.exit``) passes untouched.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any, NoReturn

import click

from smtpq.cli import boundary
from smtpq.sender.errors import SmtpqError
from smtpq.sender.sysexits import ExitCode


class SmtpqGroup(click.Group):
    """A click group for smtpq: the error boundary around every command it runs.

    *lazy* names commands by ``"module:attribute"``: each is imported when it is
    first asked for (to run it, or to list it), like click's documented lazy group.
    """

    def __init__(self, *args: Any, lazy: Mapping[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy:
            module, _, attribute = self.lazy[cmd_name].partition(":")
            self.add_command(getattr(importlib.import_module(module), attribute), cmd_name)
        return super().get_command(ctx, cmd_name)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args and self.no_args_is_help and not ctx.resilient_parsing:
            click.echo(ctx.get_help())  # help, and success (click 8.2 would exit 2)
            ctx.exit(0)
        return super().parse_args(ctx, args)

    def make_context(self, info_name: str | None, args: list[str],
                     parent: click.Context | None = None, **extra: Any) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.ClickException as error:
            fail(_root_name(parent) or info_name, error)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.exceptions.Exit:
            raise
        except click.Abort:
            # A prompt got Ctrl-C or end of input: the user stopped, say so like Ctrl-C.
            fail(_root_name(ctx), KeyboardInterrupt())
        except (Exception, KeyboardInterrupt) as error:  # noqa: BLE001 - the boundary
            fail(_root_name(ctx), error)


def fail(prog: str | None, error: BaseException) -> NoReturn:
    """Report *error* through the boundary and end the command with its exit code."""
    if isinstance(error, click.ClickException):
        error = _as_smtpq_error(error)

    def reraise() -> int:
        raise error

    raise click.exceptions.Exit(boundary.run(reraise, prog or "smtpq"))


def _as_smtpq_error(error: click.ClickException) -> SmtpqError:
    """click's command-line errors in smtpq's form: ``smtpq: message``, EX_USAGE."""
    if not isinstance(error, click.UsageError):
        return SmtpqError(error.format_message(), exit_code=ExitCode.EX_USAGE)
    details = []
    if error.ctx is not None and error.ctx.command.get_help_option(error.ctx) is not None:
        details.append(f"Try '{error.ctx.command_path} --help' for help.")
    return SmtpqError(error.format_message(), exit_code=ExitCode.EX_USAGE, details=details)


def _root_name(ctx: click.Context | None) -> str | None:
    return None if ctx is None else ctx.find_root().info_name
