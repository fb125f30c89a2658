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
from smtpq.cli.group import SmtpqGroup

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"]}

#: Every subcommand but ``send``, and where it lives: its module is imported when the
#: command runs or a listing (help, man page, completion) asks for it, so the flush that
#: follows every enqueue loads its own command only (not ``units``, ``links``, ``check``…:
#: about 25 ms).
COMMANDS = {
    "list": "smtpq.cli.commands.listing:list_command",
    "show": "smtpq.cli.commands.show:show",
    "purge": "smtpq.cli.commands.manage:purge",
    "retry": "smtpq.cli.commands.manage:retry",
    "hold": "smtpq.cli.commands.manage:hold",
    "release": "smtpq.cli.commands.manage:release",
    "flush": "smtpq.cli.commands.flush:flush",
    "status": "smtpq.cli.commands.status:status",
    "check": "smtpq.cli.commands.check:check",
    "db": "smtpq.cli.commands.db:db",
    "completion": "smtpq.cli.commands.completion:completion",
    "import-msmtpq": "smtpq.cli.commands.import_msmtpq:import_msmtpq",
    "link": "smtpq.cli.commands.links:link",
    "unlink": "smtpq.cli.commands.links:unlink",
    "install-units": "smtpq.cli.commands.units:install_units",
    "uninstall-units": "smtpq.cli.commands.units:uninstall_units",
}


@click.group("smtpq", cls=SmtpqGroup, context_settings=CONTEXT_SETTINGS, lazy=COMMANDS)
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


def mailq_main(args: Sequence[str]) -> NoReturn:
    """``mailq ARGS``: list the queue, as ``smtpq list ARGS``; exits."""
    cli.main(args=["list", *args], prog_name="mailq")
    raise AssertionError("click's main exits")  # pragma: no cover
