"""``smtpq purge``, ``retry``, ``hold`` and ``release``: delete messages, queue them
again (through another account with ``retry --account``), keep them back.

Each prints what it did (``purged 3 messages: 4, 7-8``) and ends with an
error naming every id it was given but left alone (unknown: EX_NOINPUT,
being sent: EX_TEMPFAIL, in a state the command does not apply to:
EX_USAGE).  ``purge`` asks before deleting when a person is at the terminal
(stdin is a tty) unless ``--yes``; when it cannot ask (a pipe, a script, a
cron job) it refuses without ``--yes`` rather than take a piped "n" as an
answer or delete unasked.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

import click

from smtpq.cli.common import open_queue, stdin_is_tty
from smtpq.cli.render import counted, id_ranges
from smtpq.queue.control.manage import ActionResult, Queue, Selection, utc_now
from smtpq.queue.durations import format_duration, parse_duration
from smtpq.queue.states import HOLDABLE, REROUTABLE, RETRYABLE, REVIVABLE, MessageStatus
from smtpq.sender.errors import UsageError


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
    from smtpq.cli.commands.completion import complete_ids

    return complete_ids(incomplete, tuple(s for s in MessageStatus if s is not MessageStatus.SENDING))


def complete_failed_id(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """Shell completion: ids of messages ``retry`` takes (with --account: any unfinished)."""
    from smtpq.cli.commands.completion import complete_ids

    return complete_ids(incomplete, REROUTABLE if ctx.params.get("account") else REVIVABLE)


def complete_holdable_id(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """Shell completion: ids of queued and deferred messages."""
    from smtpq.cli.commands.completion import complete_ids

    return complete_ids(incomplete, HOLDABLE)


def complete_held_id(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """Shell completion: ids of held messages."""
    from smtpq.cli.commands.completion import complete_ids

    return complete_ids(incomplete, (MessageStatus.HELD,))


def complete_account(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """Shell completion: the accounts of the msmtp configuration."""
    from smtpq.cli.commands.completion import complete_accounts

    return complete_accounts(incomplete)


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
    if not yes and not _confirmed(queue, selection, older_than):
        click.echo("nothing purged", err=True)
        return
    _report("purged", queue.purge(selection), nothing="nothing to purge")


@click.command()
@click.argument("ids", metavar="[ID]...", nargs=-1, type=click.IntRange(min=1),
                shell_complete=complete_failed_id)
@click.option("--failed", "all_failed", is_flag=True, help="Retry every failed and expired message.")
@click.option("--account", "-a", metavar="NAME", shell_complete=complete_account,
              help="Send the messages through account NAME instead of their own.")
@click.option("--all-from-account", metavar="OLD", shell_complete=complete_account,
              help="With --account: every unsent message of account OLD.")
def retry(ids: tuple[int, ...], all_failed: bool, account: str | None,
          all_from_account: str | None) -> None:
    """Queue messages again, due now.

    Retries the IDs given (failed, expired, deferred or held), or with
    --failed every failed and expired message.

    A retried message is due at once, with its back-off and max_age
    starting afresh; the next flush delivers it.

    With --account NAME the messages (any not yet sent, queued ones too)
    go through account NAME from now on, as if they had been sent with
    -a NAME: their stored account and -a/--host are replaced, their
    other options kept.  NAME must resolve in the configuration in force
    now, else nothing changes (exit 78, as msmtp).  --all-from-account OLD
    re-routes every unsent message of account OLD (after a rename).

    \b
    Example:
        smtpq retry 42
        smtpq retry --failed && smtpq flush
        smtpq retry 42 --account work
        smtpq retry --all-from-account oldname --account newname
    """
    if all_from_account is not None:
        if account is None or ids or all_failed:
            raise click.UsageError("--all-from-account OLD needs --account NEW, and no IDs or --failed")
    elif bool(ids) == all_failed:
        raise click.UsageError("give message IDs or --failed (one of them)")
    elif account is not None and all_failed:
        raise click.UsageError("--account needs message IDs or --all-from-account")
    queue, now = open_queue(), utc_now()
    if account is None:
        _report("retried", queue.retry(now, ids=ids or None), nothing="nothing to retry")
        return
    result = queue.reroute(now, account, os.environ, ids=ids or None, from_account=all_from_account)
    _report(f"re-routed through account {account} and retried", result, nothing="nothing to retry")


@click.command()
@click.argument("ids", metavar="ID...", nargs=-1, required=True, type=click.IntRange(min=1),
                shell_complete=complete_holdable_id)
def hold(ids: tuple[int, ...]) -> None:
    """Keep queued or deferred messages back until released.

    A held message is never sent, expired or pruned; smtpq list shows it
    as held.  A message being sent cannot be held (exit 75: try again
    when the flush is done).

    \b
    Example:
        smtpq hold 42 43
        smtpq release 42
    """
    _report("held", open_queue().hold(utc_now(), ids), nothing="nothing to hold")


@click.command()
@click.argument("ids", metavar="ID...", nargs=-1, required=True, type=click.IntRange(min=1),
                shell_complete=complete_held_id)
def release(ids: tuple[int, ...]) -> None:
    """Queue held messages again, due now.

    The next flush sends them; their max_age starts afresh (the time held
    does not count against them).

    \b
    Example:
        smtpq release 42 && smtpq flush
    """
    _report("released", open_queue().release(utc_now(), ids), nothing="nothing to release")


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
    """Ask whether to purge what *selection* matches now (nothing matching: no question).

    Without a terminal to ask on, refuse (EX_USAGE): a piped "n" is not an answer
    to a question nobody saw, and deleting unasked is what --yes is for.
    """
    count = queue.count(selection)
    if count == 0:
        return True  # purge finds nothing (or reports unknown ids) without asking
    if not stdin_is_tty():
        raise UsageError(f"not purging {counted(count, 'message')} without confirmation: "
                         "stdin is not a terminal, add --yes")
    if selection.ids is not None:
        what = f"{counted(count, 'message')} ({id_ranges(selection.ids)})"
    else:
        kinds = " or ".join(status.value for status in selection.statuses or ())
        what = f"{count} {kinds} {'message' if count == 1 else 'messages'}"
    if older_than is not None:
        what += f" created more than {format_duration(older_than)} ago"
    return click.confirm(f"Purge {what}?", default=False, err=True)


def _report(verb: str, result: ActionResult, *, nothing: str) -> None:
    """Print what was done, then fail with every refused id (if any)."""
    if result.done:
        click.echo(f"{verb} {counted(len(result.done), 'message')}: {id_ranges(result.done)}")
    elif not result.refused:
        click.echo(nothing)
    error = result.error()
    if error is not None:
        raise error
