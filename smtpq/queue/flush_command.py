"""Flushing from a command line: ``smtpq flush``, ``sendmail -q``, and the background flusher.

Prints nothing when there is nothing to say (cron mails any output); one line
when the server could not be reached, because that is what a user at a terminal
wants to know; a summary on request.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import TextIO

from smtpq.queue.flush import FlushReport, FlushRequest, run_flush
from smtpq.queue.settings import load_settings
from smtpq.sender.options import CommandLine


def flush(request: FlushRequest, *, env: Mapping[str, str], verbose: bool = False,
          quiet: bool = False, out: TextIO | None = None) -> FlushReport:
    """Run one flush and describe it on *out* (stderr by default) as asked."""
    out = out or sys.stderr
    report = run_flush(load_settings(env), request, env=env)
    for line in summary_lines(report, verbose=verbose, quiet=quiet):
        out.write(line + "\n")
    return report


def summary_lines(report: FlushReport, *, verbose: bool, quiet: bool) -> list[str]:
    """What to tell the user about *report*."""
    if quiet:
        return []
    if report.skipped:
        return ["another flush is running"] if verbose else []
    lines = []
    if report.unreachable:
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
