"""``smtpq status [--json]``: the queue's health at a glance (a thin wrapper around ``queue.health``).

Counts per status, the age of the oldest mail waiting, the last flush (when,
how it ended), the last successful delivery, mail held by dead flushers, and
the flush log's last line (what the last background flusher that said
something said: ``smtpq.queue.flush.flush_log``).
A queue database that cannot be read, or one named that does not exist, is an
error (through the boundary), never an empty queue.
"""

from __future__ import annotations

import json
import os
from datetime import datetime

import click

from smtpq.cli.common import line_width
from smtpq.cli.render import clean, iso, span, when
from smtpq.cli.table import truncate
from smtpq.queue.control.health import Health, read_health, status_json
from smtpq.queue.control.manage import database_named, printable_url, utc_now
from smtpq.queue.flush.flush_log import LogTail, log_path, read_tail
from smtpq.queue.records import FlushRun
from smtpq.queue.settings import load_settings
from smtpq.queue.states import MessageStatus

#: Where the text lines after a label start (``flush log:      …``).
INDENT = " " * 16
#: The width the flush log's last line is cut to when the terminal's is unknown (a pipe).
LAST_LINE_WIDTH = 80


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def status(as_json: bool) -> None:
    """Show the queue's health: counts, oldest mail, last flush, last delivery.

    Also names the messages held by a flusher that died on this host (the
    next flush takes them back), and the flush log, where background flushes
    write what went wrong, with its last line.

    \b
    Example:
        smtpq status
        smtpq status --json | jq .pending
    """
    url = load_settings().database
    health = read_health(url, utc_now(), named=database_named(url))
    log = read_tail(log_path(url, os.environ))
    if as_json:
        click.echo(json.dumps({"database": printable_url(url), **status_json(health),
                               "flush_log": flush_log_json(log)}, indent=2))
        return
    for line in status_lines(health, printable_url(url), log):
        click.echo(line)


def flush_log_json(log: LogTail | None) -> dict[str, str | None] | None:
    """``flush_log`` of ``smtpq status --json``: null when there is no log or it is empty."""
    if log is None:
        return None
    return {"path": log.path, "modified": iso(log.modified), "last_line": log.last_line,
            "problem": log.problem}


def status_lines(health: Health, database: str, log: LogTail | None = None) -> list[str]:
    """The text form of ``smtpq status``."""
    facts, now = health.facts, health.now
    counts = ", ".join(f"{facts.counts.get(s.value, 0)} {s.value}" for s in MessageStatus)
    age = health.oldest_age
    lines = [f"database:       {database}",
             f"messages:       {counts}",
             f"oldest waiting: {'-' if age is None else span(age) + ' old'}",
             f"last flush:     {_run_text(facts.last_run, now)}",
             f"last delivery:  {when(facts.last_delivery, now)}"]
    if health.dead:
        held = ", ".join(f"{h.message_id} ({h.claimed_by})" for h in health.dead)
        lines.append(f"held by dead flushers: {held} (the next flush takes them back)")
    if log is not None:
        lines += _log_lines(log, now)
    return lines


def _log_lines(log: LogTail, now: datetime) -> list[str]:
    """``flush log:      PATH, last written …`` and its last line below, cut to the width."""
    path = clean(log.path)
    if log.problem is not None:
        return [f"flush log:      {path}, not read: {clean(log.problem)}"]
    lines = [f"flush log:      {path}, last written {when(log.modified, now)}"]
    if log.last_line:
        lines.append(truncate(INDENT + clean(log.last_line), line_width() or LAST_LINE_WIDTH))
    return lines


def _run_text(run: FlushRun | None, now: datetime) -> str:
    if run is None:
        return "never"
    if run.finished is None:
        return f"{when(run.started, now)}, unfinished (running, or killed) on {run.host} pid {run.pid}"
    outcome = (f"exit {run.exit_code}: sent {run.sent}, deferred {run.deferred}, "
               f"failed {run.failed}, expired {run.expired}, still queued {run.unreachable}")
    note = f" ({run.note})" if run.note else ""
    return f"{when(run.finished, now)}, {outcome}{note}"
