"""What an interactive ``smtpq flush`` shows, and what it keeps quiet about under cron."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from smtpq.queue.flush import FlushReport
from smtpq.queue.flush_command import summary_lines
from smtpq.queue.progress import ERASE, TtyProgress
from smtpq.queue.records import ClaimedMessage, Recipient


def _message(mid: int) -> ClaimedMessage:
    now = datetime.now(UTC)
    return ClaimedMessage(mid, "a", None, (), "me@example.org",
                          (Recipient(0, f"r{mid}@example.net"),), 10, None, now, now, 0, 0,
                          "w", now)


def test_progress_shows_done_of_total_the_message_and_the_rate() -> None:
    out = io.StringIO()
    progress = TtyProgress(out)
    report = FlushReport(sent=1, due=3)
    progress(_message(7), None, report)  # type: ignore[arg-type]
    line = out.getvalue()
    assert line.startswith(ERASE)
    assert "[1/3] #7 → r7@example.net  sent 1" in line and line.endswith("/s")


def test_progress_is_erased_at_the_end() -> None:
    out = io.StringIO()
    progress = TtyProgress(out)
    progress(_message(1), None, FlushReport(sent=1, due=1))  # type: ignore[arg-type]
    progress.close()
    assert out.getvalue().endswith(ERASE)


def test_offline_is_said_on_a_terminal_but_not_under_cron() -> None:
    offline = FlushReport(unreachable=2)
    assert summary_lines(offline, verbose=False, quiet=False, tty=True) == [
        "offline: server not reachable, 2 message(s) stay queued"]
    assert summary_lines(offline, verbose=False, quiet=False, tty=False) == []


def test_a_permanent_failure_is_always_said_unless_quiet() -> None:
    failed = FlushReport(failed=1)
    assert summary_lines(failed, verbose=False, quiet=False, tty=False) == [
        "1 message(s) failed permanently (see: smtpq list --status failed)"]
    assert summary_lines(failed, verbose=False, quiet=True, tty=True) == []


def test_verbose_adds_a_summary() -> None:
    lines = summary_lines(FlushReport(sent=3), verbose=True, quiet=False, tty=False)
    assert lines == ["sent 3, deferred 0, failed 0, expired 0, still queued 0"]
