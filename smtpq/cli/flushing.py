"""Flushing from a command line: ``smtpq flush``, ``sendmail -q``, and the background flusher.

Whether on a terminal or not, a flush says what changed in this run and why:
one line per mail that failed, expired or was deferred (the server's reply or
the local reason), ``offline: …`` once when the server could not be reached;
``--verbose`` adds a line per mail sent (like ``msmtp-queue -r``) and the
counts.  On a terminal a progress line runs while mail goes out and the counts
stay on screen after it is erased.  A fully successful run prints nothing off
a terminal; ``--quiet`` (cron: it mails any output) keeps only the mail that
failed or expired for good.  The exit status is the worst thing that happened
(``flush.events.exit_status``): 0, 75, or the failure's own code.

SIGINT/SIGTERM stop the flush cleanly (``smtpq.queue.flush.stopping``): it ends
with ``FlushInterrupted``, exit 75 (EX_TEMPFAIL), saying how many messages
went back to the queue.  A flush that finds another one running says which
(on a terminal or with ``-v``) and succeeds: that flusher does the work.

A background flusher has no one reading its standard error: ``log_background``
sends what it says, up to the boundary's last error line, to the flush log
(``smtpq.queue.flush.flush_log``), as a non-terminal flush would print it.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Mapping
from typing import TextIO

from smtpq.queue.errors import FlushInterrupted
from smtpq.queue.flush import stopping
from smtpq.queue.flush.events import DEFERRED, FOR_GOOD, UNREACHABLE, FlushEvent
from smtpq.queue.flush.flush_log import LogStream, header, log_path, log_path_beside, open_log
from smtpq.queue.flush.flusher import FlushReport, FlushRequest, run_flush
from smtpq.queue.flush.verdict import Verdict
from smtpq.queue.records import ClaimedMessage
from smtpq.queue.settings import load_settings
from smtpq.sender.errors import SmtpqError
from smtpq.sender.options import CommandLine


def flush(request: FlushRequest, *, env: Mapping[str, str], verbose: bool = False,
          quiet: bool = False, out: TextIO | None = None) -> FlushReport:
    """Run one flush and describe it on *out* (stderr by default) as asked; raises
    ``FlushInterrupted`` when a stop signal ended it."""
    from smtpq.queue.control.manage import require_database

    out = out or sys.stderr
    tty = _isatty(out)
    settings = load_settings(env)
    require_database(settings.database, env)  # a typo is not an empty queue
    progress = TtyProgress(out) if tty and not quiet else None
    with stopping.installed():
        try:
            report = run_flush(settings, request, env=env, progress=progress)
        finally:
            if progress is not None:
                progress.close()
        for line in summary_lines(report, verbose=verbose, quiet=quiet, tty=tty):
            out.write(line + "\n")
    if report.interrupted:
        raise FlushInterrupted(interrupted_line(report))
    return report


def interrupted_line(report: FlushReport) -> str:
    """The one line an interrupted flush ends with (the boundary prefixes the program)."""
    return (f"interrupted: {report.given_back} message(s) given back to the queue, "
            "due at once for the next flush")


def _isatty(out: TextIO) -> bool:
    try:
        return out.isatty()
    except (AttributeError, ValueError):
        return False


def summary_lines(report: FlushReport, *, verbose: bool, quiet: bool,
                  tty: bool = True) -> list[str]:
    """What to tell the user about *report*: a line per mail that failed, expired or was
    deferred (and, *verbose*, sent), ``offline: …`` once, and on a terminal or *verbose*
    the counts; *quiet* keeps only the mail that failed or expired for good."""
    if report.skipped:
        if quiet or not (verbose or tty):
            return []
        holder = f" ({report.holder})" if report.holder else ""
        return [f"another flush is running{holder}; it delivers the queue"]
    lines: list[str] = []
    offline = False
    for event in report.events:
        if event.kind == UNREACHABLE:
            if not (quiet or offline):
                lines.append(_offline_line(report, event.reason))
            offline = True
        elif event.kind in FOR_GOOD or (not quiet and (event.kind == DEFERRED or verbose)):
            lines.append(event_line(event))
    final = report.failed + report.expired
    if final:
        lines.append(f"{final} message(s) failed for good (see: smtpq list --status failed,"
                     " smtpq retry ID)")
    if not quiet and (verbose or (tty and report.attempted > report.unreachable)):
        lines.append(f"sent {report.sent}, deferred {report.deferred}, failed {report.failed}, "
                     f"expired {report.expired}, still queued {report.unreachable}")
    return lines


def event_line(event: FlushEvent) -> str:
    """``KIND ID <rcpt>, <rcpt>: REASON``, one line whatever the reply's lines
    (``deferred 12 <a@x>: 451 4.7.1 try later``, as ``msmtp-queue -r`` words it)."""
    who = ", ".join(f"<{address}>" for address in event.recipients)
    return f"{event.kind} {event.message_id} {who}: {event.reason}".rstrip()


def _offline_line(report: FlushReport, reason: str) -> str:
    why = f": {reason}" if reason else ""
    return f"offline: server not reachable, {report.unreachable} message(s) stay queued{why}"


def flush_from_sendmail(cmd: CommandLine, *, env: Mapping[str, str]) -> int:
    """``sendmail -q`` / ``-qARG``: flush what is due, like ``smtpq flush``."""
    return flush(FlushRequest(), env=env).exit_code


def log_background(env: Mapping[str, str], lock_fd: int | None) -> str | None:
    """Make this background flush write what it says to its flush log: descriptors 1
    and 2 (what is written below Python, a fatal error) and ``sys.stdout``/``sys.stderr``
    (the run's header before its first line).  None, or why there is no log (for the
    flush journal: the flush goes on without one).  Rotates the log only when holding
    the flush lock (*lock_fd*, handed over by the enqueue)."""
    path = _background_log_path(env, lock_fd)
    if path is None:
        return None
    try:
        fd = open_log(path, rotate=lock_fd is not None)
    except SmtpqError as error:
        return f"no flush log: {error.message}"
    except OSError as error:
        return f"no flush log: {path}: {error.strerror or error}"
    for target in (1, 2):
        os.dup2(fd, target)
    if fd > 2:
        os.close(fd)
    sys.stdout = sys.stderr = LogStream(2, lambda: header(os.getpid()))
    return None


def _background_log_path(env: Mapping[str, str], lock_fd: int | None) -> str | None:
    try:
        return log_path(load_settings(env).database, env)
    except SmtpqError:
        # config.toml cannot be read now (the flush reports why): beside the lock handed over.
        return log_path_beside(lock_fd) if lock_fd is not None else None


# The one-line progress display of an interactive ``smtpq flush`` (done/total, message, rate).
#
# Only on a terminal: under cron or in a pipe nothing is drawn, so nothing is
# mailed to the user.  The line is redrawn in place (CR, erase to end of line)
# and erased when the flush is over, leaving only the summary.

ERASE = "\r\x1b[K"


class TtyProgress:
    """A ``Progress`` callback drawing ``[done/total] #id → rcpt  sent N  R/s``."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.started = time.monotonic()
        self.drawn = False

    def __call__(self, message: ClaimedMessage, verdict: Verdict, report: FlushReport) -> None:
        self.out.write(ERASE + self.line(message, report))
        self.out.flush()
        self.drawn = True

    def line(self, message: ClaimedMessage, report: FlushReport) -> str:
        done = report.attempted
        total = max(report.due or 0, done)
        rate = done / max(time.monotonic() - self.started, 1e-3)
        first = message.recipients[0].address if message.recipients else ""
        text = (f"[{done}/{total}] #{message.id} → {first}  sent {report.sent}"
                f"  {rate:.0f}/s")
        width = shutil.get_terminal_size((80, 24)).columns - 1
        return text if len(text) <= width else text[:max(width - 1, 0)] + "…"

    def close(self) -> None:
        """Erase the progress line (the summary follows on a clean line)."""
        if self.drawn:
            self.out.write(ERASE)
            self.out.flush()
