"""``smtpq import-msmtpq [DIR]``: take over an msmtpq queue (``smtpq.queue.control.msmtpq_import``)."""

from __future__ import annotations

import os

import click

from smtpq.sender.errors import SmtpqError
from smtpq.sender.sysexits import ExitCode


@click.command("import-msmtpq")
@click.argument("directory", metavar="[DIR]", required=False,
                type=click.Path(file_okay=False, dir_okay=True))
def import_msmtpq(directory: str | None) -> None:
    """Move the mail waiting in an msmtpq queue into smtpq.

    DIR is msmtpq's queue directory: $MSMTPQ_Q, else $Q, else ~/.msmtp.queue.
    Every NAME.mail is queued with the msmtp arguments of its NAME.msmtp,
    resolved as msmtp would have, in msmtpq's queue order, keeping the mail's
    own bytes and Date:.  Each pair is removed once its mail is stored; a
    second run takes nothing twice.  A mail that cannot be taken stays where
    it is and is named.

    \b
    Example:
        smtpq import-msmtpq
        smtpq import-msmtpq ~/.msmtp.queue && smtpq flush
    """
    from smtpq.queue.control.msmtpq_import import default_directory, import_queue
    from smtpq.queue.settings import AfterEnqueue, load_settings

    env = os.environ
    directory = directory or default_directory(env)
    if not os.path.isdir(directory):
        raise SmtpqError(f"{directory}: no msmtpq queue there", exit_code=ExitCode.EX_NOINPUT)
    settings = load_settings(env)
    report = import_queue(directory, database=settings.database, env=env)
    for name, message_id in report.imported:
        click.echo(f"{name}: queued as {message_id}")
    for name in report.already:
        click.echo(f"{name}: already in the queue; removed")
    click.echo(f"imported {len(report.imported)} of {len(report.imported) + len(report.left)}"
               f" mail(s) from {directory}"
               + (f", {len(report.already)} already there" if report.already else ""))
    if report.imported and settings.after_enqueue == AfterEnqueue.FLUSH:
        from smtpq.queue.flush.trigger import start_background_flush

        start_background_flush(settings.database, env)
    if report.left:
        names = [f"{name}: {reason}" for name, reason in report.left]
        raise SmtpqError(f"{len(report.left)} mail(s) left in {directory}", details=names,
                         exit_code=ExitCode.EX_DATAERR)
