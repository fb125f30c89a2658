"""SIGINT and SIGTERM stop a flusher cleanly: nothing stranded, nothing sent twice.

A flusher asked to stop (Ctrl-C; systemd at shutdown or on a unit timeout)
finishes the mail on the wire, records every outcome, gives back every claim
it has not started (queued again, due at once, no back-off consumed), says
QUIT, and exits 75 (EX_TEMPFAIL) saying how many it gave back.  The next
plain ``smtpq flush`` sends them at once.  A second signal abandons the mail
on the wire: at least once (RFC 5321 §3.8), it goes again with the next flush.
All with the default settings (``claim_lease`` untouched).
"""

from __future__ import annotations

import collections
import re
import signal
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.support.queue_home import (  # noqa: F401 - fixtures
    SENDMAIL,
    QueueHome,
    SlowHandler,
    header_value,
    numbered_mail,
    queue_home,
    server_at,
    subjects_received,
    wait_until,
)

COUNT = 20
INTERRUPTED = re.compile(r"^smtpq: interrupted: (\d+) message\(s\) given back to the queue, "
                         r"due at once for the next flush$", re.M)


def mail(number: int) -> bytes:
    return numbered_mail("stop", number)


class QuitCounter(SlowHandler):
    """Also counts the QUITs the server got (a polite client ends with one)."""

    def __init__(self, **options) -> None:  # type: ignore[no-untyped-def]
        super().__init__(**options)
        self.quits = 0

    async def handle_QUIT(self, server, session, envelope):  # noqa: N802
        self.quits += 1
        return "221 Bye"


received = subjects_received


def stopped(process: subprocess.Popen[bytes]) -> tuple[int, str]:
    _, stderr = process.communicate(timeout=60)
    return process.returncode, stderr.decode()


def assert_given_back_and_due(home: QueueHome, sent: int) -> int:
    """Every mail is sent or queued and due now, none deferred or claimed; the queued count."""
    now = datetime.now(UTC)
    statuses = collections.Counter(home.statuses().values())
    assert set(statuses) <= {"sent", "queued"}, statuses
    assert statuses["sent"] == sent
    for message in home.messages("queued"):
        detail = home.detail(message.id)
        assert detail.next_attempt <= now and detail.deferrals == 0 and detail.attempts == 0
        assert detail.claimed_by is None and detail.claim_expires is None
    return statuses["queued"]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("workers", [1, 2], ids=["one-connection", "parallel_connections-2"])
def test_a_stopped_flush_gives_back_what_it_did_not_start_and_exits_75(
        queue_home: QueueHome, server_at, signum: int, workers: int) -> None:
    queue_home.configure(parallel_connections=workers)
    handler = QuitCounter(delay=0.3)
    server = server_at(handler=handler)
    queue_home.account(server.port)
    queue_home.sendmail_many(mail(n) for n in range(COUNT))

    flusher = queue_home.start_flush()
    wait_until(lambda: len(server.messages) >= 3, timeout=30, message="the flush to start")
    flusher.send_signal(signum)
    code, stderr = stopped(flusher)

    assert code == 75, stderr
    [given_back] = INTERRUPTED.findall(stderr)
    taken = len(server.messages)
    assert taken < COUNT, "the flush ended before the signal could stop it"
    assert assert_given_back_and_due(queue_home, sent=taken) == int(given_back) == COUNT - taken
    assert handler.quits == workers, "every connection ends with QUIT"

    started = time.monotonic()
    queue_home.flush()  # the plain next flush: no lease to wait for
    assert set(queue_home.statuses().values()) == {"sent"}
    assert received(server) == {f"stop {n}": 1 for n in range(COUNT)}
    assert time.monotonic() - started < 30


def test_a_second_signal_abandons_the_mail_on_the_wire(queue_home: QueueHome, server_at) -> None:
    held = 4
    handler = QuitCounter(pause_at=held)
    server = server_at(handler=handler)
    queue_home.account(server.port)
    queue_home.sendmail_many(mail(n) for n in range(COUNT))
    subject_of = {m.id: m.subject for m in queue_home.messages()}

    flusher = queue_home.start_flush()
    assert handler.paused.wait(30), "the flush never reached the held mail"
    flusher.send_signal(signal.SIGINT)
    time.sleep(1)
    assert flusher.poll() is None, "the first signal lets the mail on the wire finish"
    flusher.send_signal(signal.SIGINT)
    code, stderr = stopped(flusher)
    handler.release()

    assert code == 75, stderr
    [given_back] = INTERRUPTED.findall(stderr)
    # The held mail reached the server, but its fate is unknown to the queue: given back.
    assert assert_given_back_and_due(queue_home, sent=held - 1) == int(given_back)
    in_flight = header_value(server.messages[-1].data, "Subject")
    assert in_flight in {subject_of[m.id] for m in queue_home.messages("queued")}

    queue_home.flush()
    assert set(queue_home.statuses().values()) == {"sent"}
    twice = {subject for subject, times in received(server).items() if times > 1}
    assert twice == {in_flight} and max(received(server).values()) == 2


def test_sendmail_q_is_stopped_the_same_way(queue_home: QueueHome, server_at) -> None:
    handler = QuitCounter(delay=0.3)
    server = server_at(handler=handler)
    queue_home.account(server.port)
    queue_home.sendmail_many(mail(n) for n in range(COUNT))

    flusher = subprocess.Popen([SENDMAIL, "-q"], env=queue_home.env, cwd=queue_home.root,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_until(lambda: len(server.messages) >= 2, timeout=30, message="the flush to start")
    flusher.send_signal(signal.SIGTERM)
    code, stderr = stopped(flusher)

    assert code == 75, stderr
    assert re.search(r"^smtpq-sendmail: interrupted: \d+ message", stderr, re.M), stderr
    assert "sending" not in queue_home.statuses().values()
    queue_home.flush()
    assert received(server) == {f"stop {n}": 1 for n in range(COUNT)}


def test_a_background_flusher_stopped_by_sigterm_leaves_nothing_claimed(
        queue_home: QueueHome, server_at) -> None:
    queue_home.configure(after_enqueue="flush")
    handler = QuitCounter(delay=0.3)
    server = server_at(handler=handler)
    queue_home.account(server.port)
    queue_home.sendmail_many(mail(n) for n in range(COUNT))

    [flusher] = wait_until(queue_home.flushers, timeout=30, message="a background flusher")
    wait_until(lambda: len(server.messages) >= 2, timeout=30, message="the flush to start")
    import os

    os.kill(flusher, signal.SIGTERM)
    wait_until(lambda: not queue_home.flushers(), timeout=30, message="the flusher to stop")

    assert "sending" not in queue_home.statuses().values()
    assert handler.quits >= 1
    said = Path(f"{queue_home.database}.flush.log").read_text().splitlines()
    assert re.fullmatch(r"smtpq: interrupted: \d+ message\(s\) given back to the queue, "
                        r"due at once for the next flush", said[-1])  # in its flush log
    queue_home.flush()
    assert set(queue_home.statuses().values()) == {"sent"}
    assert received(server) == {f"stop {n}": 1 for n in range(COUNT)}
