"""The one-line progress display of an interactive ``smtpq flush`` (done/total, message, rate).

Only on a terminal: under cron or in a pipe nothing is drawn, so nothing is
mailed to the user.  The line is redrawn in place (CR, erase to end of line)
and erased when the flush is over, leaving only the summary.
"""

from __future__ import annotations

import shutil
import time
from typing import TextIO

from smtpq.queue.flush.verdict import Verdict
from smtpq.queue.flush.worker import FlushReport
from smtpq.queue.records import ClaimedMessage

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
