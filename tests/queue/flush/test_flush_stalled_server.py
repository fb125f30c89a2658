"""A server that stalls holds only its own account's mail, and only until its stage deadline.

Two accounts, each with its server: ``stalled`` accepts the connection and
then says nothing (or trickles a byte a second), ``healthy`` works.  The
accounts set no ``timeout`` (msmtp's default): without the flush's own stage
deadlines (``[queue] stage_timeout``) the stalled server would hold the
flusher for ever.

* Isolation, with the default deadline (5 minutes): the healthy account's
  mail — queued with the stalled account's, and queued while the flusher
  already waits for the stalled server — is delivered while the stalled
  account's mail is still waiting.  Nothing here depends on how long the
  deadline is.
* The deadline itself (short deadlines: these tests are about the setting):
  the stalled account's mail is deferred when it passes, with a history entry
  saying what was awaited, and its server is not tried again in that flush;
  a server trickling its greeting one byte a second is abandoned at the
  deadline, not after the whole greeting.
* ``--send-now`` is msmtp: the queue's deadlines do not apply to it.
"""

from __future__ import annotations

import subprocess
import time

from tests.support.queue_home import (  # noqa: F401 - fixtures
    SENDMAIL,
    QueueHome,
    queue_home,
    server_at,
    wait_until,
)


def mail(account: str, number: int) -> bytes:
    return (f"From: me@example.org\nTo: you@example.net\nSubject: {account} {number}\n\n"
            f"mail {number} of {account}\n").encode()


def two_accounts(home: QueueHome, stalled_port: int, healthy_port: int) -> None:
    """``stalled`` and ``healthy`` (the default), neither with a ``timeout``."""
    home.write_msmtprc("\n".join([
        "defaults", "from me@example.org",
        "account stalled", "host 127.0.0.1", f"port {stalled_port}",
        "account healthy", "host 127.0.0.1", f"port {healthy_port}",
        "account default : healthy", ""]))


def subjects(home: QueueHome, account: str) -> dict[int, str]:
    return {m.id: m.status.value for m in home.messages() if m.subject.startswith(account)}


def test_a_fault_server_does_not_keep_other_accounts_mail_waiting(
        queue_home: QueueHome, server_at, fault_server) -> None:
    stalled = fault_server("greeting", "hang")  # accepts, then says nothing, ever
    healthy = server_at()
    two_accounts(queue_home, stalled.port, healthy.port)
    for n in range(3):
        queue_home.sendmail(mail("stalled", n), "-a", "stalled", "-t")
    for n in range(3):
        queue_home.sendmail(mail("healthy", n), "-t")

    flusher = queue_home.start_flush()
    try:
        wait_until(lambda: stalled.sessions >= 1, timeout=30, message="the flush to connect")
        # Mail queued while the flusher waits for the stalled server goes out too.
        for n in range(3, 6):
            queue_home.sendmail(mail("healthy", n), "-t")

        wait_until(lambda: len(healthy.messages) == 6, timeout=60,
                   message="the healthy account's mail to be delivered")
        wait_until(lambda: set(subjects(queue_home, "healthy").values()) == {"sent"},
                   timeout=30, message="the healthy account's verdicts")
        # … while the stalled account's mail still waits for its server.
        assert set(subjects(queue_home, "stalled").values()) == {"sending"}
        assert flusher.poll() is None
        assert stalled.sessions == 1
    finally:
        stalled.stop()  # it hangs up and stops listening: the flusher records that and ends
        flusher.wait(60)
    # Hung up on, then unreachable: queued again (or deferred), never left "sending".
    assert set(subjects(queue_home, "stalled").values()) <= {"queued", "deferred"}


def test_mail_of_a_fault_server_is_deferred_at_the_stage_deadline(
        queue_home: QueueHome, server_at, fault_server) -> None:
    queue_home.configure(stage_timeout="2s")
    stalled = fault_server("greeting", "hang")
    healthy = server_at()
    two_accounts(queue_home, stalled.port, healthy.port)
    for n in range(3):
        queue_home.sendmail(mail("stalled", n), "-a", "stalled", "-t")
    queue_home.sendmail(mail("healthy", 0), "-t")

    started = time.monotonic()
    result = queue_home.smtpq("flush")
    took = time.monotonic() - started

    assert result.returncode in (0, 75), result.stderr.decode()  # 75: something deferred
    assert 2 <= took < 40
    assert set(subjects(queue_home, "stalled").values()) == {"deferred"}
    assert set(subjects(queue_home, "healthy").values()) == {"sent"}
    # Given up for this flush after the first deadline: one connection, not one per mail.
    assert stalled.sessions == 1
    for message_id in subjects(queue_home, "stalled"):
        (attempt,) = queue_home.detail(message_id).history
        assert attempt.exit_code == 75
        assert attempt.smtp_message == "timed out after 2 s waiting for the greeting"
        assert "errormsg='timed out after 2 s waiting for the greeting' exitcode=EX_TEMPFAIL" \
            in attempt.log_line


def test_a_server_trickling_a_byte_a_second_is_abandoned_at_the_deadline(
        queue_home: QueueHome, fault_server) -> None:
    queue_home.configure(stage_timeout="3s")
    trickling = fault_server("greeting", "trickle")  # 24 bytes, one a second
    # A per-read timeout longer than the trickle's pace never fires.
    queue_home.account(trickling.port)  # ``timeout 10``
    queue_home.sendmail(mail("trickled", 0))

    started = time.monotonic()
    result = queue_home.smtpq("flush")
    took = time.monotonic() - started

    assert result.returncode in (0, 75), result.stderr.decode()
    assert took < 20  # the greeting alone would take 24 s; msmtp's reads 10 s each
    (message,) = queue_home.messages()
    (attempt,) = queue_home.detail(message.id).history
    assert attempt.smtp_message == "timed out after 3 s waiting for the greeting"


def test_send_now_keeps_msmtps_timeouts_and_ignores_the_queue_deadlines(
        queue_home: QueueHome, fault_server) -> None:
    queue_home.configure(stage_timeout="1s")
    trickling = fault_server("greeting", "trickle", trickle=0.15)  # about 4 s for the greeting
    queue_home.write_msmtprc("\n".join([
        "account default", "host 127.0.0.1", f"port {trickling.port}",
        "from me@example.org", ""]))  # no timeout: msmtp waits as long as it takes
    started = time.monotonic()
    result = subprocess.run([SENDMAIL, "--send-now", "-t"], input=mail("direct", 0),
                            capture_output=True, env=queue_home.env, timeout=120, check=False)
    assert result.returncode == 0, result.stderr.decode()
    assert time.monotonic() - started > 1  # well past the queue's deadline
    assert len(trickling.accepted) == 1
