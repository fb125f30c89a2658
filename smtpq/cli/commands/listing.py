"""``smtpq list`` (also ``mailq`` and ``smtpq-sendmail -bp``): the queue as a table or JSON.

The queue is read a page at a time; JSON is written a page at a time too, so
memory stays flat and 100,000 messages list in well under two seconds.  The
table needs every row to align its columns, but only short strings per row.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import click

from smtpq.cli.common import line_width, open_queue, use_colour
from smtpq.cli.render import STATUS_COLOURS, clean, entry_json, human_size, last_result, sender, span
from smtpq.cli.table import Column, render
from smtpq.queue.control.manage import utc_now
from smtpq.queue.states import PENDING, MessageStatus

if TYPE_CHECKING:
    from smtpq.queue.store.sql.listing import QueueEntry

COLUMNS = (
    Column("ID", right=True),
    Column("AGE", right=True),
    Column("STATUS", colour=lambda cell: STATUS_COLOURS.get(MessageStatus(cell))),
    Column("FROM", flexible=True, minimum=10),
    Column("RECIPIENTS", flexible=True, minimum=10),
    Column("SIZE", right=True),
    Column("LAST RESULT", flexible=True, minimum=12),
)

STATUS_CHOICE = click.Choice([status.value for status in MessageStatus])


@click.command("list")
@click.option("--all", "everything", is_flag=True, help="Include sent messages.")
@click.option("--status", "statuses", multiple=True, type=STATUS_CHOICE, metavar="STATUS",
              help="Only messages in STATUS (queued, deferred, sending, sent, failed, "
                   "expired); repeatable.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array (fields: docs/interface.md).")
def list_command(everything: bool, statuses: tuple[str, ...], as_json: bool) -> None:
    """List the messages in the queue.

    Without options: every message not yet sent (queued, deferred, sending,
    failed, expired), oldest first.  A message being sent names the flusher
    holding it (host:pid) and whether it still runs; one whose flusher is
    gone is "stranded": the next flush takes it back.

    \b
    Example:
        smtpq list
        smtpq list --status deferred --status failed
        smtpq list --all --json | jq '.[] | select(.status == "failed") | .id'
    """
    wanted = selected_statuses(everything, statuses)
    queue = open_queue()
    if as_json:
        write_json(queue.pages(wanted))
    else:
        empty = "no matching messages" if statuses else "queue is empty"
        if click.get_current_context().find_root().info_name == "mailq":
            empty = MAILQ_EMPTY  # as sendmail and Postfix say it
        write_table(queue.entries(wanted), empty=empty)


def selected_statuses(everything: bool, statuses: Iterable[str]) -> tuple[MessageStatus, ...]:
    """The statuses to list: those named, else pending ones (and sent with ``--all``)."""
    named = tuple(MessageStatus(status) for status in statuses)
    if named:
        return named
    return (*PENDING, MessageStatus.SENT) if everything else PENDING


def write_json(pages: Iterable[list[QueueEntry]]) -> None:
    """A JSON array, one message per line, written a page at a time."""
    separator = "\n"
    click.echo("[", nl=False)
    for page in pages:
        click.echo(separator + json_lines(page), nl=False)
        separator = ",\n"
    click.echo("]" if separator == "\n" else "\n]")


def json_lines(page: Sequence[QueueEntry]) -> str:
    """The JSON objects of *page*, comma-separated, one per line.

    One ``json.dumps`` per page (a single call into C) instead of one per
    message, then a line break before each object: ``, {"id": `` cannot occur
    inside a JSON string (its quote would be escaped), only between objects.
    """
    text = json.dumps([entry_json(entry) for entry in page])[1:-1]
    return text.replace(', {"id": ', ',\n{"id": ')


def write_table(entries: Iterable[QueueEntry], *, empty: str = "queue is empty") -> None:
    """The aligned table fitted to the terminal, or the single line *empty*."""
    now = utc_now()
    rows = [table_row(entry, now) for entry in entries]
    if not rows:
        click.echo(empty)
        return
    lines = render(COLUMNS, rows, width=line_width(), colour=use_colour())
    click.echo("\n".join(lines))


def table_row(entry: QueueEntry, now: datetime) -> list[str]:
    """The cells of one message, in ``COLUMNS`` order."""
    return [
        str(entry.id),
        span(now - entry.created),
        entry.status.value,
        sender(entry.envelope_from),
        clean(", ".join(entry.recipients)),
        human_size(entry.size),
        last_result(entry, now),
    ]


#: What sendmail's and Postfix's ``mailq`` print for an empty queue.
MAILQ_EMPTY = "Mail queue is empty"


def print_queue(environ: Mapping[str, str] | None = None,
                statuses: Collection[MessageStatus] = PENDING) -> int:
    """``mailq`` / ``smtpq-sendmail -bp``: print the queue table; the exit code (0).

    An empty queue is ``Mail queue is empty``, as sendmail and Postfix say it.
    Raises ``SmtpqError`` (for the caller's boundary) when the settings or the
    database cannot be read, or a database the user named does not exist.
    Imports click and SQLAlchemy: call it lazily.
    """
    from smtpq.queue.control.manage import Queue, database_named
    from smtpq.queue.settings import load_settings

    url = load_settings(environ).database
    with Queue(url, must_exist=database_named(url, environ)) as queue:
        write_table(queue.entries(statuses), empty=MAILQ_EMPTY)
    return 0
