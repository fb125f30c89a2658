"""Many enqueuing processes and a running flush share the queue without losing a mail.

8 streams of ``smtpq-sendmail`` processes enqueue at once while ``smtpq
flush`` runs again and again against a server that answers DATA slowly.
Every mail is stored (every ``smtpq-sendmail`` exits 0), nobody sees
"database is locked" (writers wait for the lock: WAL, ``BEGIN IMMEDIATE``,
a busy timeout), and after a final flush the server has every mail exactly once.
"""

from __future__ import annotations

import collections
import sqlite3
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from tests.support.queue_home import (  # noqa: F401 - fixtures
    SENDMAIL,
    QueueHome,
    SlowHandler,
    closed_port,
    header_value,
    queue_home,
    server_at,
)

PROCESSES = 8
EACH = 10


def mail(stream: int, number: int) -> bytes:
    return (f"From: me@example.org\nTo: you@example.net\nSubject: stream {stream} mail {number}\n"
            f"\nfrom stream {stream}, mail {number}\n").encode()


def test_concurrent_enqueues_during_a_flush_lose_nothing(queue_home: QueueHome, server_at) -> None:
    server = server_at(handler=SlowHandler(delay=0.005))
    queue_home.account(server.port)
    # The flushes start with something to do, and the queue exists (for the very
    # first enqueues of a new queue, see the test below).
    queue_home.sendmail(mail(-1, 0))
    stderr: list[bytes] = []
    done = threading.Event()

    def flush_repeatedly() -> int:
        runs = 0
        while not done.is_set():
            result = queue_home.smtpq("flush")
            assert result.returncode == 0
            stderr.append(result.stderr)
            runs += 1
        return runs

    def enqueue_stream(stream: int) -> list[bytes]:
        return [queue_home.sendmail(mail(stream, n)).stderr for n in range(EACH)]

    with ThreadPoolExecutor(PROCESSES + 1) as pool:
        flushes = pool.submit(flush_repeatedly)
        streams = [pool.submit(enqueue_stream, stream) for stream in range(PROCESSES)]
        for stream in streams:
            stderr += stream.result()
        done.set()
        assert flushes.result() >= 1

    assert not [e for e in stderr if e], b"".join(stderr).decode()  # "database is locked" or worse
    delivered_during = len(server.messages)
    queue_home.flush()

    total = PROCESSES * EACH + 1
    queued = queue_home.messages()
    assert len(queued) == total
    assert {m.status.value for m in queued} == {"sent"}
    received = collections.Counter(header_value(m.data, "Message-ID") for m in server.messages)
    assert set(received.values()) == {1}
    assert set(received) == {m.msgid for m in queued}
    assert delivered_during > 1, "no mail went out while the enqueues ran"


def test_the_first_enqueue_of_a_new_queue_waits_for_another_that_is_setting_it_up(
        queue_home: QueueHome) -> None:
    queue_home.account(closed_port())
    queue_home.database.parent.mkdir(parents=True, mode=0o700)
    queue_home.database.touch(mode=0o600)
    # Another process is setting up the new queue: it holds the write lock for a moment.
    other = sqlite3.connect(queue_home.database, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    enqueue = subprocess.Popen([SENDMAIL, "-t"], stdin=subprocess.PIPE, stderr=subprocess.PIPE,
                               env=queue_home.env, cwd=queue_home.root)
    enqueue.stdin.write(mail(0, 0))
    enqueue.stdin.close()
    time.sleep(1.0)
    other.execute("COMMIT")
    other.close()

    assert enqueue.wait(30) == 0, enqueue.stderr.read().decode()
    assert len(queue_home.messages()) == 1
