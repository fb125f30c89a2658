"""Flushing from a command line: ``smtpq flush``, ``sendmail -q``, and the background flusher.

On a terminal: a progress line while mail goes out, and one line when the
server could not be reached (what a user at a terminal wants to know).  Under
cron or in a pipe: silent unless something failed for good (cron mails any
output).  ``--verbose`` adds a summary (and the offline line anywhere);
``--quiet`` prints nothing at all.

SIGINT/SIGTERM stop the flush cleanly (``smtpq.queue.stopping``): it ends
with ``FlushInterrupted``, exit 75 (EX_TEMPFAIL), saying how many messages
went back to the queue.  A flush that finds another one running says which
(on a terminal or with ``-v``) and succeeds: that flusher does the work.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import TextIO

from smtpq.queue import stopping
from smtpq.queue.flush import FlushReport, FlushRequest, run_flush
from smtpq.queue.progress import TtyProgress
from smtpq.queue.settings import load_settings
from smtpq.sender.errors import SmtpqError
from smtpq.sender.options import CommandLine
from smtpq.sender.sysexits import ExitCode


class FlushInterrupted(SmtpqError):
    """The flush was stopped by a signal; what it had not started is queued again."""

    exit_code = ExitCode.EX_TEMPFAIL


def flush(request: FlushRequest, *, env: Mapping[str, str], verbose: bool = False,
          quiet: bool = False, out: TextIO | None = None) -> FlushReport:
    """Run one flush and describe it on *out* (stderr by default) as asked; raises
    ``FlushInterrupted`` when a stop signal ended it."""
    out = out or sys.stderr
    tty = _isatty(out)
    progress = TtyProgress(out) if tty and not quiet else None
    with stopping.installed():
        try:
            report = run_flush(load_settings(env), request, env=env, progress=progress)
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
    """What to tell the user about *report* (the offline line only on a terminal or -v)."""
    if quiet:
        return []
    if report.skipped:
        if not (verbose or tty):
            return []
        holder = f" ({report.holder})" if report.holder else ""
        return [f"another flush is running{holder}; it delivers the queue"]
    lines = []
    if report.unreachable and (tty or verbose):
        lines.append(f"offline: server not reachable, {report.unreachable} message(s) stay queued")
    if report.failed:
        lines.append(f"{report.failed} message(s) failed permanently (see: smtpq list --status failed)")
    if verbose:
        lines.append(f"sent {report.sent}, deferred {report.deferred}, failed {report.failed}, "
                     f"expired {report.expired}, still queued {report.unreachable}")
    return lines


def flush_from_sendmail(cmd: CommandLine, *, env: Mapping[str, str]) -> int:
    """``sendmail -q`` / ``-qARG``: flush what is due, like ``smtpq flush``."""
    flush(FlushRequest(), env=env)
    return 0
