"""``smtpq check``: one monitoring-plugin line and status (a thin wrapper around ``queue.health``).

Nagios plugin guidelines: ``SMTPQ OK - 3 pending, oldest 5m | perfdata`` and
exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN; usable from Nagios, Icinga or a
systemd ``OnFailure=``.  Any error reading the queue is UNKNOWN (3), said on
the one line, so this command does not go through the error boundary's codes.
"""

from __future__ import annotations

from datetime import timedelta

import click

from smtpq.cli.commands.manage import parse_age
from smtpq.queue.control.health import Thresholds, assess, read_health, unknown
from smtpq.queue.control.manage import database_named, utc_now
from smtpq.queue.settings import load_settings
from smtpq.sender.errors import SmtpqError


@click.command("check")
@click.option("--warn-age", callback=parse_age, default="1h", show_default=True, metavar="AGE",
              help="WARNING when the oldest waiting mail is this old.")
@click.option("--crit-age", callback=parse_age, default="1d", show_default=True, metavar="AGE",
              help="CRITICAL when the oldest waiting mail is this old.")
@click.option("--warn-count", type=click.IntRange(min=1), metavar="N",
              help="WARNING when N or more mails are waiting.")
@click.option("--crit-count", type=click.IntRange(min=1), metavar="N",
              help="CRITICAL when N or more mails are waiting.")
def check(warn_age: timedelta, crit_age: timedelta, warn_count: int | None,
          crit_count: int | None) -> None:
    """Check the queue like a monitoring plugin: one line, exit 0/1/2/3.

    OK, WARNING, CRITICAL or UNKNOWN (the database cannot be read).  Failed or
    expired mail, or mail held by a dead flusher, is at least WARNING.

    \b
    Example:
        smtpq check
        smtpq check --warn-age 30m --crit-age 4h --warn-count 50
    """
    limits = Thresholds(warn_age, crit_age, warn_count, crit_count)
    try:
        url = load_settings().database
        state, line = assess(read_health(url, utc_now(), named=database_named(url)), limits)
    except SmtpqError as error:
        state, line = unknown(error.message)
    click.echo(line)
    click.get_current_context().exit(state)
