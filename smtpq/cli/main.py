"""``smtpq``: the management command group (click).

Every command is a thin wrapper: parse options, call ``smtpq.queue``, print.
When argv[0] is ``sendmail`` the program behaves as ``smtpq-sendmail``, and as
``smtpq list`` when it is ``mailq`` (SPEC.md), so one symlink target serves all.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from smtpq import __version__
from smtpq.cli.boundary import program_name

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"]}


@click.group(context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, prog_name="smtpq")
def cli() -> None:
    """Manage the smtpq mail queue.

    \b
    Example:
        smtpq list
        smtpq flush --now
    """


@cli.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False,
                               "help_option_names": []})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def send(args: tuple[str, ...]) -> None:
    """Same as smtpq-sendmail ARGS (msmtp/sendmail options; mail on stdin).

    \b
    Example:
        printf 'Subject: hi\\n\\nhello\\n' | smtpq send -a work bob@example.org
    """
    from smtpq.cli.sendmail import main as sendmail_main

    sendmail_main(["smtpq send", *args])


def mailq_main(args: Sequence[str]) -> None:
    """``mailq``: list the queue, as ``smtpq list ARGS``."""
    cli.main(args=["list", *args], prog_name="mailq")


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry; dispatches on argv[0] like a multi-call binary."""
    argv = list(sys.argv if argv is None else argv)
    prog = program_name(argv[0] if argv else "smtpq")
    if prog == "sendmail":
        from smtpq.cli.sendmail import main as sendmail_main

        sendmail_main(argv)
        return
    if prog == "mailq":
        mailq_main(argv[1:])
        return
    cli.main(args=argv[1:], prog_name="smtpq")
