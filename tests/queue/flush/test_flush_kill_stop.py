"""SIGKILL at random moments and SIGSTOP/SIGCONT, with the default settings.

A flusher killed at any moment (starting, claiming, sending, committing)
leaves every mail sent or still in the queue; one plain ``smtpq flush``
afterwards takes back the dead flushers' claims at once (no lease to wait
for) and delivers everything, duplicates within the documented window
(``UNRECORDED_AT_MOST`` per killed connection), nothing left ``sending``.

A stopped flusher (SIGSTOP: a laptop lid, a debugger) still holds the lock
and its claims: a second flush leaves them alone and says who is busy; once
continued, the flusher finishes as if nothing happened.
"""

from __future__ import annotations

import json
import os
import random
import signal
import time

import pytest

from smtpq.queue.flush.group_commit import UNRECORDED_AT_MOST
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

COUNT = 30
KILLS = 6


def mail(number: int) -> bytes:
    return numbered_mail("kill", number)


received = subjects_received


@pytest.mark.parametrize("workers", [1, 2], ids=["one-connection", "parallel_connections-2"])
def test_flushers_killed_at_random_moments_then_one_plain_flush_delivers_everything(
        queue_home: QueueHome, server_at, workers: int) -> None:
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    queue_home.configure(parallel_connections=workers)
    server = server_at(handler=SlowHandler(delay=0.02))
    queue_home.account(server.port)
    queue_home.sendmail_many(mail(n) for n in range(COUNT))

    for _ in range(KILLS):
        flusher = queue_home.start_flush()
        time.sleep(rng.uniform(0, 1.5))
        flusher.send_signal(signal.SIGKILL)
        flusher.wait(30)
        # An orphaned worker finishes its batch under the lock it shares, then ends.
        wait_until(queue_home.flush_lock_free, timeout=60, message="orphaned workers to end")
        assert set(queue_home.statuses().values()) <= {"queued", "sending", "sent"}

    queue_home.flush()

    assert set(queue_home.statuses().values()) == {"sent"}, f"seed {seed}"
    got = received(server)
    assert set(got) == {f"kill {n}" for n in range(COUNT)}, f"seed {seed}"
    assert sum(got.values()) - COUNT <= KILLS * workers * UNRECORDED_AT_MOST, f"seed {seed}"


@pytest.mark.parametrize("workers", [1, 2], ids=["one-connection", "parallel_connections-2"])
def test_a_stopped_flusher_keeps_its_lock_and_claims_and_finishes_when_continued(
        queue_home: QueueHome, server_at, workers: int) -> None:
    queue_home.configure(parallel_connections=workers)
    server = server_at(handler=SlowHandler(delay=0.2))
    queue_home.account(server.port)
    queue_home.sendmail_many(mail(n) for n in range(20))

    flusher = queue_home.start_flush()
    wait_until(lambda: len(server.messages) >= 3, timeout=30, message="the flush to start")
    flusher.send_signal(signal.SIGSTOP)
    try:
        second = queue_home.flush("-v")
        assert second.stderr.decode().startswith(
            f"another flush is running ({os.uname().nodename}:{flusher.pid})")
        listed = json.loads(queue_home.smtpq("list", "--json").stdout)
        held = [entry for entry in listed if entry["status"] == "sending"]
        assert held and all(entry["holder"]["alive"] for entry in held)
    finally:
        flusher.send_signal(signal.SIGCONT)
    assert flusher.wait(60) == 0

    assert set(queue_home.statuses().values()) == {"sent"}
    assert received(server) == {f"kill {n}": 1 for n in range(20)}
