"""``smtpq purge`` and ``smtpq retry``: delete messages, or queue failed ones again.

Both print what they did (``purged 3 messages: 4, 7-8``) and end with an
error naming every id they were given but left alone (unknown: EX_NOINPUT,
being sent: EX_TEMPFAIL, not failed: EX_USAGE).  ``purge`` asks before
deleting when a person is at the terminal (stdin is a tty) unless ``--yes``;
from a script or cron job it does not ask, like ``postsuper -d``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import click

from smtpq.cli.common import open_queue, stdin_is_tty
from smtpq.cli.render import counted, id_ranges
from smtpq.queue.durations import format_duration, parse_duration
from smtpq.queue.manage import Outcome, Queue, Selection, utc_now
from smtpq.queue.states import RETRYABLE, MessageStatus


def parse_age(ctx: click.Context, param: click.Parameter, value: str | None) -> timedelta | None:
    """``--older-than``: an age such as ``2d`` or ``1h30m`` (config.toml's notation)."""
    if value is None:
        return None
    try:
        return parse_duration(value)
    except ValueError as error:
        raise click.BadParameter(str(error), ctx, param) from None


def complete_any_id(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """Shell completion: ids of messages that can be purged."""
    from smtpq.cli.completion import complete_ids

    return complete_ids(incomplete, tuple(s for s in MessageStatus if s is not MessageStatus.SENDING))


def complete_failed_id(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """Shell completion: ids of failed and expired messages."""
    from smtpq.cli.completion import complete_ids

    return complete_ids(incomplete, RETRYABLE)


@click.command()
@click.argument("ids", metavar="[ID]...", nargs=-1, type=click.IntRange(min=1),
                shell_complete=complete_any_id)
@click.option("--failed", is_flag=True, help="Purge failed and expired messages.")
@click.option("--sent", is_flag=True, help="Purge sent messages.")
@click.option("--all", "everything", is_flag=True, help="Purge every message not being sent.")
@click.option("--older-than", callback=parse_age, metavar="AGE",
              help="Only messages created more than AGE ago (30m, 12h, 7d, 1w …).")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
def purge(ids: tuple[int, ...], failed: bool, sent: bool, everything: bool,
          older_than: timedelta | None, yes: bool) -> None:
    """Delete messages: the IDs given, or a whole class.

    A message being sent is never deleted.  On a terminal, asks first
    unless --yes is given.

    \b
    Example:
        smtpq purge 42 43
        smtpq purge --failed --older-than 7d
        smtpq purge --sent --yes
    """
    now = utc_now()
    selection = _selection(ids, failed, sent, everything, older_than, now)
    queue = open_queue()
    if not yes and stdin_is_tty() and not _confirmed(queue, selection, older_than):
        click.echo("nothing purged", err=True)
        return
    _report("purged", queue.purge(selection), nothing="nothing to purge")


@click.command()
@click.argument("ids", metavar="[ID]...", nargs=-1, type=click.IntRange(min=1),
                shell_complete=complete_failed_id)
@click.option("--failed", "all_failed", is_flag=True, help="Retry every failed and expired message.")
def retry(ids: tuple[int, ...], all_failed: bool) -> None:
    """Queue failed or expired messages again.

    Retries the IDs given, or with --failed every failed and expired message.

    A retried message is due at once, with its back-off and max_age
    starting afresh; the next flush delivers it.

    \b
    Example:
        smtpq retry 42
        smtpq retry --failed && smtpq flush
    """
    if bool(ids) == all_failed:
        raise click.UsageError("give message IDs or --failed (one of them)")
    outcome = open_queue().retry(utc_now(), ids=ids or None)
    _report("retried", outcome, nothing="nothing to retry")


def _selection(ids: tuple[int, ...], failed: bool, sent: bool, everything: bool,
               older_than: timedelta | None, now: datetime) -> Selection:
    """The purge selection the options describe; a usage error when they conflict."""
    cutoff = now - older_than if older_than is not None else None
    if ids and (failed or sent or everything):
        raise click.UsageError("give message IDs or --failed/--sent/--all, not both")
    if ids:
        return Selection(ids=ids, older_than=cutoff)
    if everything:
        statuses = tuple(status for status in MessageStatus if status is not MessageStatus.SENDING)
    else:
        statuses = (*(RETRYABLE if failed else ()), *((MessageStatus.SENT,) if sent else ()))
    if not statuses:
        raise click.UsageError("nothing selected: give message IDs, --failed, --sent or --all")
    return Selection(statuses=statuses, older_than=cutoff)


def _confirmed(queue: Queue, selection: Selection, older_than: timedelta | None) -> bool:
    """Ask whether to purge what *selection* matches now (nothing matching: no question)."""
    count = queue.count(selection)
    if count == 0:
        return True  # purge finds nothing (or reports unknown ids) without asking
    if selection.ids is not None:
        what = f"{counted(count, 'message')} ({id_ranges(selection.ids)})"
    else:
        kinds = " or ".join(status.value for status in selection.statuses or ())
        what = f"{count} {kinds} {'message' if count == 1 else 'messages'}"
    if older_than is not None:
        what += f" created more than {format_duration(older_than)} ago"
    return click.confirm(f"Purge {what}?", default=False, err=True)


def _report(verb: str, outcome: Outcome, *, nothing: str) -> None:
    """Print what was done, then fail with every refused id (if any)."""
    if outcome.done:
        click.echo(f"{verb} {counted(len(outcome.done), 'message')}: {id_ranges(outcome.done)}")
    elif not outcome.refused:
        click.echo(nothing)
    error = outcome.error()
    if error is not None:
        raise error
