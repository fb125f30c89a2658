"""``parallel_connections = N``: one flush, N connections to one server, each mail once.

The flush forks N - 1 worker processes and works as the N-th; each claims its
own batches (the store's claims keep them apart) and opens its own connection.
To the outside it is still one flush: one lock, one report.  A worker that
dies is reported, and what it held goes back to the queue at once.
"""

from __future__ import annotations

import collections
import os
import re
import signal
import subprocess
from collections.abc import Callable

from smtpq.queue.flush.group_commit import UNRECORDED_AT_MOST
from tests.support.aiosmtpd_server import SmtpServer
from tests.support.queue_home import (  # noqa: F401 - fixtures
    QueueHome,
    SlowHandler,
    header_value,
    numbered_mail,
    queue_home,
    server_at,
    subjects_received,
    wait_until,
)

COUNT = 40


def mail(number: int) -> bytes:
    return numbered_mail("parallel", number)


class PeerRecorder(SlowHandler):
    """Remembers which connection (client port) carried each mail."""

    def __init__(self, **options) -> None:  # type: ignore[no-untyped-def]
        super().__init__(**options)
        self.peers: list[tuple[str, int]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.peers.append(session.peer)
        return await super().handle_DATA(server, session, envelope)


def test_n_connections_to_one_server_deliver_every_mail_exactly_once(
        any_home: QueueHome, server_at) -> None:
    queue_home = any_home
    queue_home.configure(parallel_connections=4)
    handler = PeerRecorder(delay=0.02)  # slow enough for the workers to overlap
    server = server_at(handler=handler)
    queue_home.account(server.port)
    queue_home.sendmail_many(mail(n) for n in range(COUNT))

    result = queue_home.flush("-v")

    assert len(set(handler.peers)) == 4, collections.Counter(handler.peers)
    received = collections.Counter(header_value(m.data, "Subject") for m in server.messages)
    assert received == {f"parallel {n}": 1 for n in range(COUNT)}
    assert set(queue_home.statuses().values()) == {"sent"}
    # One report for the whole flush, every worker's mail counted and said.
    lines = result.stderr.decode().splitlines()
    assert lines[-1] == f"sent {COUNT}, deferred 0, failed 0, expired 0, still queued 0"
    said = [int(m[1]) for line in lines if (m := re.match(r"sent (\d+) <", line))]
    assert sorted(said) == sorted(queue_home.statuses())


def two_workers_delivering(queue_home: QueueHome, server_at: Callable[..., SmtpServer],
                           count: int, *, delay: float
                           ) -> tuple[subprocess.Popen[bytes], SmtpServer]:
    """A flush with ``parallel_connections = 2`` of *count* queued mails to a server that
    answers each after *delay* seconds, once both workers deliver: (flusher, server)."""
    queue_home.configure(parallel_connections=2)
    handler = PeerRecorder(delay=delay)
    server = server_at(handler=handler)
    queue_home.account(server.port)
    queue_home.sendmail_many(mail(n) for n in range(count))
    flusher = queue_home.start_flush()
    wait_until(lambda: len(set(handler.peers)) == 2, message="both workers to deliver")
    return flusher, server


def assert_each_sent_and_few_twice(queue_home: QueueHome, server: SmtpServer) -> None:
    """Every mail sent, and sent again only if its verdict was not committed yet."""
    assert set(queue_home.statuses().values()) == {"sent"}
    received = collections.Counter(header_value(m.data, "Subject") for m in server.messages)
    assert set(received) == {f"parallel {n}" for n in range(COUNT)}
    assert sum(received.values()) - COUNT <= UNRECORDED_AT_MOST


def test_the_workers_are_one_flush_to_the_outside(queue_home: QueueHome, server_at) -> None:
    first, server = two_workers_delivering(queue_home, server_at, 20, delay=0.3)
    second = queue_home.flush("-v")

    assert second.stderr.decode().startswith("another flush is running (")
    assert first.wait(30) == 0
    assert len(server.messages) == 20
    assert set(queue_home.statuses().values()) == {"sent"}


def test_a_small_queue_is_not_worth_more_workers(queue_home: QueueHome, server_at) -> None:
    queue_home.configure(parallel_connections=4)
    handler = PeerRecorder()
    server = server_at(handler=handler)
    queue_home.account(server.port)
    queue_home.sendmail_many(mail(n) for n in range(3))

    queue_home.flush()

    assert len(set(handler.peers)) == 1
    assert len(server.messages) == 3


def test_a_worker_left_alone_stops_after_its_batch(queue_home: QueueHome, server_at) -> None:
    """SIGKILL to the flusher: its worker finishes what it claimed and exits; nothing is
    lost, and the next flush (once the worker is done: it holds the flusher's lock)
    delivers the rest at once, sending again at most the mails whose verdicts the
    flusher had not committed."""
    flusher, server = two_workers_delivering(queue_home, server_at, COUNT, delay=0.05)
    flusher.send_signal(signal.SIGKILL)
    flusher.wait(10)
    # The orphan finishes its batch (20 mails at 0.05 s) under the lock it shares.
    wait_until(queue_home.flush_lock_free, timeout=30, message="the orphaned worker to end")

    queue_home.flush()

    assert_each_sent_and_few_twice(queue_home, server)


def children_of(pid: int) -> list[int]:
    """The processes whose parent is *pid* (``/proc/PID/stat``, field 4)."""
    found = []
    for name in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{name}/stat", "rb") as stat:
                text = stat.read()
        except (FileNotFoundError, ProcessLookupError):  # ended meanwhile
            continue
        if int(text[text.rfind(b")") + 2:].split()[1]) == pid:
            found.append(int(name))
    return found


def test_a_worker_that_dies_is_reported_and_its_claims_go_back_at_once(
        queue_home: QueueHome, server_at) -> None:
    flusher, server = two_workers_delivering(queue_home, server_at, COUNT, delay=0.05)
    [worker] = children_of(flusher.pid)
    os.kill(worker, signal.SIGKILL)
    _, stderr = flusher.communicate(timeout=60)

    assert flusher.returncode == 70, stderr.decode()  # EX_SOFTWARE
    assert f"flush worker {worker} died (signal 9)" in stderr.decode()
    # Its claims were taken back by the flusher: nothing is left held by the dead.
    assert set(queue_home.statuses().values()) <= {"queued", "sent"}

    queue_home.flush()

    assert_each_sent_and_few_twice(queue_home, server)
