"""What an interactive ``smtpq flush`` shows, and what it keeps quiet about under cron."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from smtpq.cli.flushing import ERASE, TtyProgress, summary_lines
from smtpq.queue.flush.events import FlushEvent
from smtpq.queue.flush.worker import FlushReport
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


def _event(kind: str, mid: int, reason: str, code: int = 75) -> FlushEvent:
    return FlushEvent(kind, mid, (f"r{mid}@example.net",), reason, code)


def test_offline_is_said_once_on_a_terminal_and_off_it_but_not_with_quiet() -> None:
    offline = FlushReport(unreachable=2, events=[
        _event("unreachable", 1, "cannot connect to 127.0.0.1, port 1: Connection refused"),
        _event("unreachable", 2, "cannot connect to 127.0.0.1, port 1: Connection refused")])
    expected = ["offline: server not reachable, 2 message(s) stay queued: "
                "cannot connect to 127.0.0.1, port 1: Connection refused"]
    assert summary_lines(offline, verbose=False, quiet=False, tty=True) == expected
    assert summary_lines(offline, verbose=False, quiet=False, tty=False) == expected
    assert summary_lines(offline, verbose=False, quiet=True, tty=False) == []
    assert offline.exit_code == 75


def test_each_deferred_mail_is_said_with_the_servers_reply() -> None:
    report = FlushReport(deferred=1, events=[_event("deferred", 12, "451 4.7.1 try later")])
    assert summary_lines(report, verbose=False, quiet=False, tty=False) == [
        "deferred 12 <r12@example.net>: 451 4.7.1 try later"]
    assert summary_lines(report, verbose=False, quiet=True, tty=False) == []
    assert report.exit_code == 75


def test_a_permanent_failure_is_said_even_with_quiet_and_beats_a_deferral() -> None:
    failed = FlushReport(failed=1, deferred=1, events=[
        _event("deferred", 1, "451 later"), _event("failed", 2, "554 5.7.1 spam", 69)])
    line = "failed 2 <r2@example.net>: 554 5.7.1 spam"
    hint = "1 message(s) failed for good (see: smtpq list --status failed, smtpq retry ID)"
    assert summary_lines(failed, verbose=False, quiet=True, tty=False) == [line, hint]
    assert summary_lines(failed, verbose=False, quiet=False, tty=False) == [
        "deferred 1 <r1@example.net>: 451 later", line, hint]
    assert failed.exit_code == 69


def test_a_fully_successful_run_is_silent_off_a_terminal() -> None:
    report = FlushReport(sent=1, events=[_event("sent", 1, "250 ok", 0)])
    assert summary_lines(report, verbose=False, quiet=False, tty=False) == []
    assert report.exit_code == 0
    assert FlushReport().exit_code == 0


def test_on_a_terminal_the_counts_stay_on_screen() -> None:
    report = FlushReport(sent=1, events=[_event("sent", 1, "250 ok", 0)])
    assert summary_lines(report, verbose=False, quiet=False, tty=True) == [
        "sent 1, deferred 0, failed 0, expired 0, still queued 0"]


def test_verbose_adds_a_line_per_mail_sent_and_the_counts() -> None:
    report = FlushReport(sent=1, events=[_event("sent", 3, "250 2.0.0 queued as X", 0)])
    lines = summary_lines(report, verbose=True, quiet=False, tty=False)
    assert lines == ["sent 3 <r3@example.net>: 250 2.0.0 queued as X",
                     "sent 1, deferred 0, failed 0, expired 0, still queued 0"]
