"""The queue's flush asks for a password only when a server asks for AUTH, once per flush.

msmtp runs ``passwordeval`` when it reads its configuration, before connecting
(``--send-now`` keeps that order: tests/sender/differential).  A flush runs
from a timer or a network hook, so there it waits for the AUTH step: a
``passwordeval`` that pops up pinentry or wants a key touch is never run by a
flush that finds the server unreachable, is run once for all the mail of a
flush through a server that wants AUTH, and not at all when auth is off and
the server offers none.  Each test's ``passwordeval`` appends a line to a
file for every call.
"""

from __future__ import annotations

from pathlib import Path

from tests.support.queue_home import (  # noqa: F401 - fixtures
    QueueHome,
    closed_port,
    queue_home,
    sample_mail,
    server_at,
)

PASSWORD = "s3cret-pw"


def recording_passwordeval(home: QueueHome) -> tuple[str, Path]:
    """A ``passwordeval`` line whose command records each call in the returned file."""
    calls = home.root / "passwordeval-calls"
    script = home.root / "password.sh"
    script.write_text(f"#!/bin/sh\necho called >> {calls}\necho {PASSWORD}\n")
    script.chmod(0o700)
    return f"passwordeval {script}", calls


def calls_in(calls: Path) -> int:
    return len(calls.read_text().splitlines()) if calls.exists() else 0


def test_an_offline_flush_never_runs_passwordeval(queue_home: QueueHome) -> None:
    line, calls = recording_passwordeval(queue_home)
    queue_home.account(closed_port(), "auth plain", "user me", line)
    queue_home.sendmail(sample_mail(1), "-t")
    queue_home.sendmail(sample_mail(2), "-t")

    result = queue_home.flush()

    assert result.returncode == 75
    assert "offline:" in result.stderr.decode()
    assert calls_in(calls) == 0
    assert set(queue_home.statuses().values()) == {"queued"}


def test_a_flush_of_several_mails_through_an_auth_server_runs_it_once(
        queue_home: QueueHome, server_at) -> None:
    server = server_at(credentials={"me": PASSWORD}, auth_require_tls=False)
    line, calls = recording_passwordeval(queue_home)
    queue_home.account(server.port, "auth plain", "user me", line)
    for number in range(3):
        queue_home.sendmail(sample_mail(number), "-t")

    result = queue_home.flush()

    assert result.returncode == 0, result.stderr.decode()
    assert len(server.messages) == 3
    assert calls_in(calls) == 1


def test_mail_to_a_server_without_auth_never_runs_it_when_auth_is_off(
        queue_home: QueueHome, server_at) -> None:
    server = server_at()
    line, calls = recording_passwordeval(queue_home)
    queue_home.account(server.port, "auth off", "user me", line)
    queue_home.sendmail(sample_mail(1), "-t")

    result = queue_home.flush()

    assert result.returncode == 0, result.stderr.decode()
    assert len(server.messages) == 1
    assert calls_in(calls) == 0


def test_a_failing_passwordeval_defers_the_mail_and_says_why(
        queue_home: QueueHome, server_at) -> None:
    server = server_at(credentials={"me": PASSWORD}, auth_require_tls=False)
    queue_home.account(server.port, "auth plain", "user me", "passwordeval true")
    queue_home.sendmail(sample_mail(1), "-t")
    (message,) = queue_home.messages()
    message_id = message.id

    result = queue_home.flush()

    assert result.returncode == 75
    (said,) = result.stderr.decode().splitlines()
    assert said.startswith(f"deferred {message_id} ")
    assert "cannot read output of 'true'" in said
    assert queue_home.detail(message_id).status.value == "deferred"
    assert server.messages == []
