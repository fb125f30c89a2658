"""``smtpq flush``: deliver what is due (a thin click wrapper around ``smtpq.queue``)."""

from __future__ import annotations

import os

import click


@click.command("flush")
@click.option("--id", "ids", type=int, multiple=True, help="Only this message (repeatable).")
@click.option("--account", help="Only messages for this account.")
@click.option("--now", "ignore_backoff", is_flag=True, help="Ignore back-off: try deferred mail now.")
@click.option("-q", "--quiet", is_flag=True,
              help="Print only mail that failed or expired for good (for cron).")
@click.option("-v", "--verbose", is_flag=True, help="Also a line per mail sent, and the counts.")
@click.option("--background", is_flag=True, hidden=True)
@click.option("--lock-fd", type=int, hidden=True)
def flush(ids: tuple[int, ...], account: str | None, ignore_backoff: bool, quiet: bool,
                  verbose: bool, background: bool, lock_fd: int | None) -> None:
    """Deliver the queued mail that is due, through one connection per account.

    With parallel_connections = N in config.toml, a large flush opens N
    connections per account (N worker processes).  Only one flush runs per
    queue at a time; a second one exits 0 at once, saying which flusher is
    busy (on a terminal or with -v).  Mail left "sending" by a flusher of
    this host that was killed is taken back at once.

    Ctrl-C or SIGTERM: the mail on the wire is finished, the rest goes back
    to the queue (due at once) and the flush exits 75; a second signal
    drops the mail on the wire too (the next flush sends it again).

    Prints a line per mail that failed, expired or was deferred, with the
    server's reply or the local reason, and "offline: ..." once when the
    server could not be reached.  Exit status: 0 all sent or nothing to do,
    75 something deferred, unreachable or interrupted, else the failure's
    code (69, 65, ...) when mail failed or expired for good.

    \b
    Example:
        smtpq flush            # what is due
        smtpq flush --now      # also mail waiting for back-off
        smtpq flush --id 42
    """
    from smtpq.cli.flushing import flush as run_flush
    from smtpq.cli.flushing import log_background
    from smtpq.queue.flush.flusher import BACKGROUND_LINGER, FlushRequest

    # A background flush (started by an enqueue) says what a plain one prints, in its flush log.
    note = log_background(os.environ, lock_fd) if background else None
    request = FlushRequest(ids=ids or None, account=account, ignore_backoff=ignore_backoff,
                           lock_fd=lock_fd, linger=BACKGROUND_LINGER if background else 0.0,
                           note=note)
    report = run_flush(request, env=os.environ, verbose=verbose, quiet=quiet)
    click.get_current_context().exit(report.exit_code)
