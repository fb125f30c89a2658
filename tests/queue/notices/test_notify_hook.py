"""``notify_command`` as a process: through ``/bin/sh -c``, the facts in its environment,
its output captured, killed with its children after ``NOTIFY_TIMEOUT``, and every way
it can go wrong reported as one line, never raised."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from smtpq.queue.notices import hook as notify_hook
from smtpq.queue.notices.hook import notify

FACTS = {"SMTPQ_NOTIFY_ID": "7", "SMTPQ_NOTIFY_STATUS": "failed"}


def run(command: str, variables: dict[str, str] | None = None,
        env: dict[str, str] | None = None) -> tuple[bool, list[str]]:
    said: list[str] = []
    ok = notify(command, variables or FACTS, env or {"PATH": "/usr/bin:/bin"}, said.append)
    return ok, said


def test_the_command_runs_through_the_shell_with_the_facts_added_to_the_environment(
        tmp_path: Path) -> None:
    out = tmp_path / "out"
    ok, said = run(f'echo "$SMTPQ_NOTIFY_ID $SMTPQ_NOTIFY_STATUS $KEPT" > {out}',
                   env={"PATH": "/usr/bin:/bin", "KEPT": "inherited"})
    assert (ok, said) == (True, [])
    assert out.read_text() == "7 failed inherited\n"


def test_a_failing_command_is_reported_with_its_status_and_output() -> None:
    ok, said = run("echo 'no display' >&2; exit 4")
    assert not ok
    assert said == ["notify_command for message 7 failed (exit status 4): no display"]


def test_a_command_that_is_not_found_is_reported_not_raised() -> None:
    ok, said = run("/nonexistent/notify-send")
    assert not ok and "failed (exit status 127)" in said[0]


def test_a_nul_in_a_fact_is_dropped_not_raised(tmp_path: Path) -> None:
    out = tmp_path / "out"
    ok, _ = run(f'printf %s "$SMTPQ_NOTIFY_SUBJECT" > {out}',
                {**FACTS, "SMTPQ_NOTIFY_SUBJECT": "a\0b"})
    assert ok and out.read_text() == "ab"


def test_a_hanging_command_and_its_children_are_killed_after_the_timeout(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(notify_hook, "NOTIFY_TIMEOUT", 1.0)  # the setting under test
    started = time.monotonic()
    ok, said = run("sleep 600 & sleep 600")
    assert time.monotonic() - started < 30
    assert not ok and said == ["notify_command for message 7 did not finish within 1 s "
                               "and was killed"]
