"""``smtpq``: the management command group (click) and ``mailq``.

Every command is a thin wrapper: parse options, call ``smtpq.queue``, print.
Which program argv[0] asks for is decided in ``smtpq.cli.entry``.

Errors: the group is a ``smtpq.cli.group.SmtpqGroup``, so every failure of
every command goes through ``smtpq.cli.boundary``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NoReturn

import click

from smtpq import __version__
from smtpq.cli.commands import links, units
from smtpq.cli.commands.check import check
from smtpq.cli.commands.completion import completion
from smtpq.cli.commands.db import db
from smtpq.cli.commands.flush import flush
from smtpq.cli.commands.import_msmtpq import import_msmtpq
from smtpq.cli.commands.listing import list_command
from smtpq.cli.commands.manage import hold, purge, release, retry
from smtpq.cli.commands.show import show
from smtpq.cli.commands.status import status
from smtpq.cli.group import SmtpqGroup

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"]}


@click.group("smtpq", cls=SmtpqGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, prog_name="smtpq")
def cli() -> None:
    """Manage the smtpq mail queue.

    The queue database is $SMTPQ_DATABASE, else `database` in
    $XDG_CONFIG_HOME/smtpq/config.toml, else
    $XDG_DATA_HOME/smtpq/queue.sqlite3.

    \b
    Example:
        smtpq list
        smtpq show 42
        smtpq retry --failed
    """


@cli.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False,
                               "help_option_names": []})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def send(args: tuple[str, ...]) -> None:
    """Send mail: the same as smtpq-sendmail ARGS.

    msmtp/sendmail options; the mail is read from stdin.

    \b
    Example:
        printf 'Subject: hi\\n\\nhello\\n' | smtpq send -a work bob@example.org
    """
    from smtpq.cli.sendmail import main as sendmail_main

    sendmail_main(["smtpq send", *args])


for _command in (list_command, show, purge, retry, hold, release, flush, status, check, db,
                 completion, import_msmtpq, *links.COMMANDS, *units.COMMANDS):
    cli.add_command(_command)


def mailq_main(args: Sequence[str]) -> NoReturn:
    """``mailq ARGS``: list the queue, as ``smtpq list ARGS``; exits."""
    cli.main(args=["list", *args], prog_name="mailq")
    raise AssertionError("click's main exits")  # pragma: no cover
