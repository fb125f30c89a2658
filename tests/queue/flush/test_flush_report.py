"""What ``smtpq flush`` says about each mail, and its exit status, against real servers.

Off a terminal (a unit's journal, cron), on a terminal, and with ``--quiet``
(the shipped cron line) and ``-v``:

* a 554 to DATA: ``failed ID <rcpt>: 554 …`` even with ``--quiet``, and the
  attempt's own exit code (failed beats deferred);
* a 451: ``deferred ID <rcpt>: 451 …``, exit 75, and nothing with ``--quiet``;
  once ``max_age`` has passed, the next flush says ``expired ID …`` with the last
  reply, even with ``--quiet`` (cron mails the user then), and exits 69;
* a 535: ``deferred ID …: … authentication failed …``, exit 75;
* all sent: nothing off a terminal, exit 0; ``-v`` a ``sent ID <rcpt>: 250 …``
  line per mail, like ``msmtp-queue -r``; on a terminal the counts stay on the
  screen once the progress line is erased.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.dropin.test_offline import _on_a_terminal
from tests.support.aiosmtpd_server import RecordingHandler
from tests.support.queue_home import (  # noqa: F401 - fixtures
    QueueHome,
    queue_home,
    server_at,
    wait_until,
)

MAIL = b"From: me@example.org\nTo: you@example.net\nSubject: report\n\nhello\n"


def enqueued(home: QueueHome) -> int:
    home.sendmail(MAIL, "-t")
    return max(message.id for message in home.messages())


def lines(result) -> list[str]:  # type: ignore[no-untyped-def]
    return result.stderr.decode().splitlines()


def test_a_554_is_said_even_with_quiet_and_exits_with_the_attempts_code(
        queue_home: QueueHome, server_at) -> None:
    server = server_at(handler=RecordingHandler(
        data_reply="554 5.7.1 Message rejected as spam"))
    queue_home.account(server.port)
    message_id = enqueued(queue_home)

    result = queue_home.smtpq("flush", "--quiet")

    code = queue_home.detail(message_id).history[-1].exit_code
    assert code in (65, 69) and result.returncode == code
    assert lines(result)[0] == (f"failed {message_id} <you@example.net>: "
                                "554 5.7.1 Message rejected as spam")
    assert result.stdout == b""


def test_a_451_is_a_deferral_then_an_expiry_said_to_cron(queue_home: QueueHome,
                                                         server_at) -> None:
    # max_age is what this test is about; long enough for a loaded machine's first flush.
    queue_home.configure(max_age="8s", retry_first="1s", retry_max="1s")
    server = server_at(handler=RecordingHandler(rcpt_replies={
        "you@example.net": "451 4.7.1 try later"}))
    queue_home.account(server.port)
    message_id = enqueued(queue_home)

    deferred = queue_home.smtpq("flush")
    assert deferred.returncode == 75
    assert lines(deferred) == [f"deferred {message_id} <you@example.net>: 451 4.7.1 try later"]

    queued_at = queue_home.detail(message_id).queued_at
    wait_until(lambda: datetime.now(UTC) > queued_at + timedelta(seconds=8.05), timeout=30,
               message="max_age to pass")
    expired = queue_home.smtpq("flush", "--quiet", "--now")
    assert expired.returncode == 69
    first = lines(expired)[0]
    assert first.startswith(f"expired {message_id} <you@example.net>: expired (max_age)")
    assert first.endswith("451 4.7.1 try later")
    assert queue_home.detail(message_id).status.value == "expired"


def test_a_deferral_is_quiet_with_quiet(queue_home: QueueHome, server_at) -> None:
    server = server_at(handler=RecordingHandler(rcpt_replies={
        "you@example.net": "451 4.7.1 try later"}))
    queue_home.account(server.port)
    enqueued(queue_home)

    result = queue_home.smtpq("flush", "--quiet")

    assert (result.returncode, result.stdout, result.stderr) == (75, b"", b"")


def test_a_535_is_a_deferral_with_the_reason(queue_home: QueueHome, server_at) -> None:
    server = server_at(credentials={"me": "right"}, auth_require_tls=False)
    queue_home.account(server.port, "auth plain", "user me", "password wrong")
    message_id = enqueued(queue_home)

    result = queue_home.smtpq("flush")

    assert result.returncode == 75
    (line,) = lines(result)
    assert line.startswith(f"deferred {message_id} <you@example.net>: 535")
    assert "wrong" not in line


def test_all_sent_is_silent_off_a_terminal_and_verbose_names_each_mail(
        queue_home: QueueHome, server_at) -> None:
    server = server_at()
    queue_home.account(server.port)
    first = enqueued(queue_home)

    silent = queue_home.smtpq("flush")
    assert (silent.returncode, silent.stdout, silent.stderr) == (0, b"", b"")

    second = enqueued(queue_home)
    verbose = queue_home.smtpq("flush", "-v")
    assert verbose.returncode == 0
    assert lines(verbose) == [f"sent {second} <you@example.net>: 250 2.0.0 queued",
                              "sent 1, deferred 0, failed 0, expired 0, still queued 0"]
    assert first != second and len(server.messages) == 2


def test_on_a_terminal_the_counts_stay_on_screen(queue_home: QueueHome, server_at) -> None:
    server = server_at(handler=RecordingHandler(rcpt_replies={
        "later@example.net": "451 4.7.1 try later"}))
    queue_home.account(server.port)
    sent = enqueued(queue_home)
    queue_home.sendmail(MAIL.replace(b"you@", b"later@"), "-t")
    later = max(message.id for message in queue_home.messages())

    code, output = _on_a_terminal(queue_home, "flush")

    assert code == 75
    shown = [line.split("\r")[-1].replace("\x1b[K", "") for line in output.decode().split("\n")]
    assert [line for line in shown if line.strip()] == [
        f"deferred {later} <later@example.net>: 451 4.7.1 try later",
        "sent 1, deferred 1, failed 0, expired 0, still queued 0"]
    assert sent != later


def test_sendmail_q_says_and_exits_the_same(queue_home: QueueHome) -> None:
    from tests.support.queue_home import SENDMAIL, closed_port

    queue_home.account(closed_port())
    enqueued(queue_home)

    result = queue_home.run([SENDMAIL, "-q"])

    assert result.returncode == 75
    (line,) = lines(result)
    assert line.startswith("offline: server not reachable, 1 message(s) stay queued: ")
