"""Two flushes never deliver one mail twice.

One flusher per queue: a second ``smtpq flush`` finds the lock taken and
returns at once.  And even without the lock (two workers that bypass it, as
two hosts sharing one PostgreSQL queue would), the store's claims alone keep
every mail to one worker: each is delivered exactly once.
"""

from __future__ import annotations

import collections
import os
import subprocess
import sys
import time
from pathlib import Path

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


def mail(number: int) -> bytes:
    return numbered_mail("exclusive", number)


def test_a_second_flush_says_which_flusher_runs_and_exits_0_at_once(
        queue_home: QueueHome, server_at) -> None:
    handler = SlowHandler(delay=0.5)
    server = server_at(handler=handler)
    queue_home.account(server.port)
    queue_home.sendmail_many(mail(n) for n in range(8))

    first = queue_home.start_flush()
    wait_until(lambda: handler.messages, message="the first flush to deliver")
    started = time.monotonic()
    second = queue_home.flush("-v")
    took = time.monotonic() - started

    assert second.stderr.decode() == (
        f"another flush is running ({os.uname().nodename}:{first.pid}); it delivers the queue\n")
    assert first.poll() is None, "the first flush should still be running"
    assert took < 5
    assert first.wait(30) == 0
    assert set(queue_home.statuses().values()) == {"sent"}
    received = collections.Counter(header_value(m.data, "Subject") for m in server.messages)
    assert len(received) == 8 and set(received.values()) == {1}


#: A flush worker with the per-host lock defeated (its own lock file) and small
#: batches, so that two of them interleave their claims.  Waits for GO to exist.
WORKER = """
import os, sys, time
import smtpq.queue.flush.flusher as flusher
import smtpq.queue.flush.worker as worker
from smtpq.queue.settings import load_settings

lock_file, go = sys.argv[1], sys.argv[2]
flusher.lock_path = lambda database, env: lock_file
worker.BATCH = 3
while not os.path.exists(go):
    time.sleep(0.005)
report = flusher.run_flush(load_settings(os.environ), flusher.FlushRequest(), env=os.environ)
print(report.sent)
"""


def test_claims_alone_keep_two_lockless_workers_from_sending_one_mail_twice(
        queue_home: QueueHome, server_at, tmp_path: Path) -> None:
    handler = SlowHandler(delay=0.01)
    server = server_at(handler=handler)
    queue_home.account(server.port)
    count = 40
    queue_home.sendmail_many(mail(n) for n in range(count))
    go = tmp_path / "go"

    workers = [subprocess.Popen([sys.executable, "-c", WORKER, str(tmp_path / f"lock{i}"), str(go)],
                                env=queue_home.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
               for i in range(2)]
    time.sleep(0.5)  # both import and wait
    go.touch()
    outputs = [worker.communicate(timeout=60) for worker in workers]

    for worker, (_, stderr) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, stderr.decode()
    sent = [int(stdout) for stdout, _ in outputs]
    assert sum(sent) == count
    assert all(sent), f"the workers did not overlap: {sent}"
    received = collections.Counter(header_value(m.data, "Subject") for m in server.messages)
    assert len(received) == count and set(received.values()) == {1}
    assert set(queue_home.statuses().values()) == {"sent"}


def test_the_claim_lease_is_renewed_while_a_worker_serves_another_route(
        queue_home: QueueHome, server_at, tmp_path: Path) -> None:
    # One batch holds mail for a slow route and a fast one; the slow route takes
    # longer than the lease.  A second worker (no lock between them) starting
    # after the lease must not find the fast route's mail up for grabs.
    # About the lease itself (its renewal): a short one, so the test outlasts it.
    queue_home.configure(claim_lease="2s")
    slow = server_at(handler=SlowHandler(delay=0.6))
    fast = server_at()
    queue_home.write_msmtprc(
        "defaults\ntimeout 10\nfrom me@example.org\nhost 127.0.0.1\n"
        f"account slow\nport {slow.port}\naccount fast\nport {fast.port}\n")
    for n in range(6):
        queue_home.sendmail(mail(n), "-a", "slow", "-t")
    for n in range(6, 9):
        queue_home.sendmail(mail(n), "-a", "fast", "-t")
    go = tmp_path / "go"
    go.touch()

    def worker(i: int) -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, "-c", WORKER.replace("BATCH = 3", "BATCH = 100"),
                                 str(tmp_path / f"lock{i}"), str(go)],
                                env=queue_home.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    first = worker(1)
    wait_until(lambda: slow.messages, message="the first worker to start on the slow route")
    time.sleep(2.5)  # past the lease of the claims taken with the batch
    second = worker(2)
    for process in (first, second):
        _, stderr = process.communicate(timeout=60)
        assert process.returncode == 0, stderr.decode()

    received = collections.Counter(header_value(m.data, "Subject")
                                   for m in slow.messages + fast.messages)
    assert len(received) == 9
    assert set(received.values()) == {1}, f"delivered twice: {received}"
