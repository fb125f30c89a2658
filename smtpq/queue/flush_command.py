"""Flushing from a command line: ``smtpq flush``, ``sendmail -q``, and the background flusher.

On a terminal: a progress line while mail goes out, and one line when the
server could not be reached (what a user at a terminal wants to know).  Under
cron or in a pipe: silent unless something failed for good (cron mails any
output).  ``--verbose`` adds a summary (and the offline line anywhere);
``--quiet`` prints nothing at all.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import TextIO

from smtpq.queue.flush import FlushReport, FlushRequest, run_flush
from smtpq.queue.progress import TtyProgress
from smtpq.queue.settings import load_settings
from smtpq.sender.options import CommandLine


def flush(request: FlushRequest, *, env: Mapping[str, str], verbose: bool = False,
          quiet: bool = False, out: TextIO | None = None) -> FlushReport:
    """Run one flush and describe it on *out* (stderr by default) as asked."""
    out = out or sys.stderr
    tty = _isatty(out)
    progress = TtyProgress(out) if tty and not quiet else None
    try:
        report = run_flush(load_settings(env), request, env=env, progress=progress)
    finally:
        if progress is not None:
            progress.close()
    for line in summary_lines(report, verbose=verbose, quiet=quiet, tty=tty):
        out.write(line + "\n")
    return report


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
        return ["another flush is running"] if verbose else []
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
