"""``smtpq status [--json]``: the queue's health at a glance (a thin wrapper around ``queue.health``).

Counts per status, the age of the oldest mail waiting, the last flush (when,
how it ended), the last successful delivery, and mail held by dead flushers.
A queue database that cannot be read, or one named that does not exist, is an
error (through the boundary), never an empty queue.
"""

from __future__ import annotations

import json
from datetime import datetime

import click

from smtpq.cli.render import span, when
from smtpq.queue.control.health import Health, read_health, status_json
from smtpq.queue.control.manage import database_named, printable_url, utc_now
from smtpq.queue.records import FlushRun
from smtpq.queue.settings import load_settings
from smtpq.queue.states import MessageStatus


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def status(as_json: bool) -> None:
    """Show the queue's health: counts, oldest mail, last flush, last delivery.

    Also names the messages held by a flusher that died on this host (the
    next flush takes them back).

    \b
    Example:
        smtpq status
        smtpq status --json | jq .pending
    """
    url = load_settings().database
    health = read_health(url, utc_now(), named=database_named(url))
    if as_json:
        click.echo(json.dumps({"database": printable_url(url), **status_json(health)}, indent=2))
        return
    for line in status_lines(health, printable_url(url)):
        click.echo(line)


def status_lines(health: Health, database: str) -> list[str]:
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
