"""``smtpq show ID``: one message's envelope, recipients and history, as text, JSON or raw mail.

``--raw`` copies the stored bytes to stdout a chunk at a time (the store reads
one chunk per query), so showing a 200 MB mail takes no more memory than a
small one, and what comes out is byte for byte what was queued.  With
``--with-bcc`` a ``Bcc:`` field naming the envelope recipients the header
does not (``smtpq.queue.control.resend``) comes first, so that
``smtpq show N --raw --with-bcc | smtpq-sendmail -t`` reaches every one.
"""

from __future__ import annotations

import json
import shlex
import shutil
import sys
from collections.abc import Iterator
from datetime import datetime

import click

from smtpq.cli.common import line_width, open_queue, use_colour
from smtpq.cli.render import (
    STATUS_COLOURS,
    clean,
    counted,
    detail_json,
    holder_text,
    result,
    sender,
    span,
    when,
)
from smtpq.cli.table import Column, render
from smtpq.queue.control.manage import Queue, utc_now
from smtpq.queue.records import MessageDetail
from smtpq.queue.states import MessageStatus

#: Bytes copied at a time by ``--raw``.
RAW_CHUNK = 1 << 16

RECIPIENT_COLUMNS = (
    Column("ADDRESS", flexible=True, minimum=12),
    Column("STATUS"),
    Column("SERVER REPLY", flexible=True, minimum=12),
)


def complete_any_id(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """Shell completion: ids of messages in the queue (sent ones too)."""
    from smtpq.cli.commands.completion import complete_ids

    return complete_ids(incomplete, tuple(MessageStatus))


@click.command()
@click.argument("message_id", metavar="ID", type=click.IntRange(min=1),
                shell_complete=complete_any_id)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (fields: docs/interface.md).")
@click.option("--raw", is_flag=True, help="Print the stored mail itself, byte for byte.")
@click.option("--with-bcc", is_flag=True,
              help="With --raw: first a Bcc: field naming every envelope recipient "
                   "the header does not, for smtpq-sendmail -t.")
def show(message_id: int, as_json: bool, raw: bool, with_bcc: bool) -> None:
    """Show one message and its delivery history.

    The envelope, the state of each recipient, and every delivery attempt
    with its exit code and msmtp's log line.

    \b
    Example:
        smtpq show 42
        smtpq show 42 --json | jq '.history[-1].log_line'
        smtpq show 42 --raw > message.eml
        smtpq show 42 --raw --with-bcc | smtpq-sendmail -t   # send it again
    """
    if as_json and raw:
        raise click.UsageError("--json and --raw cannot be used together")
    if with_bcc and not raw:
        raise click.UsageError("--with-bcc needs --raw")
    queue = open_queue()
    if raw:
        copy_raw(queue, message_id, with_bcc=with_bcc)
    elif as_json:
        click.echo(json.dumps(detail_json(queue.detail(message_id)), indent=2))
    else:
        click.echo("\n".join(describe(queue.detail(message_id), utc_now())))


def copy_raw(queue: Queue, message_id: int, *, with_bcc: bool = False) -> None:
    """The stored mail to stdout, a chunk at a time (after the Bcc field *with_bcc*)."""
    field = b""
    if with_bcc:
        from smtpq.queue.control.resend import bcc_field

        recipients = queue.detail(message_id).recipients
        with queue.content(message_id) as stream:
            field = bcc_field(stream, recipients)
    sys.stdout.flush()
    out = sys.stdout.buffer
    with queue.content(message_id) as stream:
        out.write(field)
        shutil.copyfileobj(stream, out, RAW_CHUNK)
    out.flush()


def describe(detail: MessageDetail, now: datetime) -> Iterator[str]:
    """The human description of *detail*, line by line."""
    status = detail.status.value
    if use_colour():
        status = click.style(status, fg=STATUS_COLOURS.get(detail.status))
    if detail.status is MessageStatus.SENDING:
        holder = holder_text(detail.claimed_by, detail.holder_alive)
        if holder.startswith("stranded"):
            status += ", " + holder
    yield f"message {detail.id}: {status}"
    for label, value in envelope(detail, now):
        yield f"  {label + ':':<14}{value}"
    yield ""
    yield "recipients:"
    rows = [[clean(state.address), state.status.value, clean(state.smtp_message) or "-"]
            for state in detail.recipient_states]
    yield from ("  " + line for line in render(RECIPIENT_COLUMNS, rows, width=_inner_width()))
    yield ""
    yield from history(detail)


def envelope(detail: MessageDetail, now: datetime) -> Iterator[tuple[str, str]]:
    """Label/value pairs about the message itself; optional ones only when set."""
    yield "from", sender(detail.envelope_from)
    yield "recipients", clean(", ".join(detail.recipients))
    yield "account", clean(detail.account)
    if detail.config_file:
        yield "config file", clean(detail.config_file)
    if detail.options:
        yield "options", clean(shlex.join(detail.options))
    if detail.subject:
        yield "subject", clean(detail.subject)
    if detail.msgid:
        yield "message-id", clean(detail.msgid)
    yield "size", counted(detail.size, "byte")
    yield "created", when(detail.created, now)
    if detail.queued_at != detail.created:
        yield "queued", when(detail.queued_at, now)
    yield from progress(detail, now)


def progress(detail: MessageDetail, now: datetime) -> Iterator[tuple[str, str]]:
    """Where delivery stands: attempts, last result, next attempt, claim, finish."""
    attempts = counted(detail.attempts, "attempt")
    if detail.deferrals:
        attempts += f" ({counted(detail.deferrals, 'deferral')})"
    yield "attempts", attempts
    if detail.attempts:
        yield "last result", result(detail.last_exit_code, detail.last_smtp_message)
    if detail.status in (MessageStatus.QUEUED, MessageStatus.DEFERRED):
        yield "next attempt", when(detail.next_attempt, now)
    if detail.status is MessageStatus.SENDING:
        yield "holder", (f"{holder_text(detail.claimed_by, detail.holder_alive)}, claim until "
                         f"{when(detail.claim_expires, now)}")
    if detail.finished is not None:
        yield "finished", when(detail.finished, now)


def history(detail: MessageDetail) -> Iterator[str]:
    """Every attempt: when, how long, the outcome, and msmtp's log line."""
    if not detail.history:
        yield "history: no delivery attempt yet"
        return
    yield "history:"
    for number, attempt in enumerate(detail.history, start=1):
        stamp = attempt.started.strftime("%Y-%m-%d %H:%M:%S UTC")
        took = span(attempt.finished - attempt.started)
        yield f"  {number}. {stamp} ({took}): {result(attempt.exit_code, attempt.smtp_message)}"
        if attempt.log_line:
            yield f"     {clean(attempt.log_line)}"


def _inner_width() -> int | None:
    width = line_width()
    return None if width is None else width - 2
