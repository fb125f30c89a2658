"""One queue for a fleet: four flush workers on one PostgreSQL queue, killed at random.

Four real worker processes (``run_flush`` in a loop, each in its own data
directory, so that nothing but the database is shared: four hosts) drain a
queue of mails into an SMTP server on 127.0.0.1 that counts what it accepted
by Message-ID.  Meanwhile workers are SIGKILLed at random moments (mid-claim,
mid-DATA, mid-verdict) and started again.  Every setting is the default users
run, ``claim_lease`` (5 minutes) included: a dead worker's claims come back
because its database session is gone (``smtpq.queue.store.sql.liveness``), not
because a lease ran out, so the queue drains in seconds, not minutes.

Delivery is at-least-once (RFC 5321 §3.8): a worker killed after the server
accepted a mail but before its verdict was committed causes a duplicate.
Verdicts are committed in groups (``smtpq.queue.flush.group_commit``), so a kill
may cost up to ``UNRECORDED_AT_MOST`` duplicates, the mails sent since the
last commit.  So: every mail delivered, at most that many duplicates per kill,
nothing left queued, deferred or sending.
"""

from __future__ import annotations

import os
import random
import socket
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import func, select

from smtpq.queue.flush import holders
from smtpq.queue.flush.group_commit import UNRECORDED_AT_MOST
from smtpq.queue.settings import QueueSettings
from smtpq.queue.states import MessageStatus
from smtpq.queue.store.sql.models import messages
from smtpq.queue.store.sql.store import open_store
from tests.support.fleet import CountingServer, Fleet, load_queue
from tests.support.postgres import PostgresCluster

MAILS = 5000
WORKERS = 4
KILLS = 10
#: Far below the default lease (5 minutes): only a takeover at the kill meets it.
WITHIN = 20.0
M = messages.c


def _status_counts(url: str) -> dict[str, int]:
    with open_store(url) as store, store._engine.connect() as c:  # noqa: SLF001 - inspection
        rows = c.execute(select(M.status, func.count()).group_by(M.status))
        return {str(getattr(status, "value", status)): count for status, count in rows}


def _held_by(url: str, pid: int) -> list[int]:
    """The ids claimed (``sending``) by worker process *pid* (``holders``: host:pid:start)."""
    names = [f"{socket.gethostname()}:{pid}", holders.worker_id(pid)]
    with open_store(url, migrate=False) as store, store._engine.connect() as c:  # noqa: SLF001
        return list(c.execute(select(M.id).where(
            M.status == MessageStatus.SENDING, M.claimed_by.in_(names))).scalars())


def _unsent(url: str, ids: list[int]) -> int:
    with open_store(url, migrate=False) as store, store._engine.connect() as c:  # noqa: SLF001
        return int(c.execute(select(func.count()).where(
            M.id.in_(ids), M.status != MessageStatus.SENT)).scalar_one())


def test_the_fleet_runs_with_the_default_lease(tmp_path: Path):
    assert QueueSettings(database=f"sqlite:///{tmp_path}/q").claim_lease.total_seconds() == 300


def test_four_workers_killed_at_random_deliver_every_mail_once_but_for_the_unrecorded(
        postgres_cluster: PostgresCluster, tmp_path: Path):
    seed = int(os.environ.get("SMTPQ_FLEET_SEED", time.time_ns() % 100_000))
    rng = random.Random(seed)
    url = postgres_cluster.new_database("fleet")
    load_queue(url, MAILS)
    server = CountingServer().start()
    fleet = Fleet(tmp_path, url, server.port, workers=WORKERS)  # default claim_lease
    recovery = Recovery(url)
    try:
        fleet.start()
        while fleet.kills < KILLS and fleet.running():
            time.sleep(rng.uniform(0.05, 0.3))
            victim = rng.choice(range(WORKERS))
            recovery.wait_until_sending(fleet.pid(victim))  # a kill that strands mail
            time.sleep(rng.uniform(0.0, 0.2))  # mid-claim, mid-DATA, mid-verdict
            held = recovery.held_by(fleet.pid(victim))  # just before: taken back at once after
            if fleet.kill(victim):
                recovery.killed(held)
                fleet.start(victim)
            recovery.check()
        while fleet.running() and recovery.pending:
            recovery.check()
            time.sleep(0.05)
        codes = fleet.wait(timeout=90)
        recovery.check()
    finally:
        fleet.stop()
        server.stop()
    received = server.received
    duplicates = sum(received.values()) - MAILS
    print(f"fleet: seed {seed}, {fleet.kills} kills, {len(received)} mails delivered, "
          f"{duplicates} duplicates; a killed worker's mail all sent within "
          f"{max(recovery.times, default=0):.2f} s of the kill (each: "
          f"{', '.join(f'{t:.2f}' for t in recovery.times)})")
    context = f"seed {seed}, {fleet.kills} kills\n{fleet.logs()}"

    assert codes == [0] * WORKERS, context
    assert fleet.kills >= KILLS // 2, f"the queue drained before enough kills; {context}"
    assert set(received) == {f"<{n}@fleet.test>" for n in range(MAILS)}, context
    assert duplicates <= fleet.kills * UNRECORDED_AT_MOST, (
        f"{duplicates} duplicates: {Counter(c for c in received.values() if c > 1)}; {context}")
    assert _status_counts(url) == {"sent": MAILS}, context
    assert not recovery.pending and max(recovery.times, default=0) < WITHIN, context


class Recovery:
    """How long after each kill every mail the killed worker held was sent."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.pending: list[tuple[float, list[int]]] = []  # (killed at, the ids it held)
        self.times: list[float] = []

    def wait_until_sending(self, pid: int | None, timeout: float = 10.0) -> None:
        """Until worker *pid* holds claims (or *timeout*: the queue may be nearly empty)."""
        deadline = time.monotonic() + timeout
        while not self.held_by(pid) and time.monotonic() < deadline:
            time.sleep(0.02)

    def held_by(self, pid: int | None) -> list[int]:
        return _held_by(self.url, pid) if pid is not None else []

    def killed(self, held: list[int]) -> None:
        if held:
            self.pending.append((time.monotonic(), held))

    def check(self) -> None:
        for entry in list(self.pending):
            if not _unsent(self.url, entry[1]):
                self.times.append(time.monotonic() - entry[0])
                self.pending.remove(entry)


def test_the_batch_of_a_killed_worker_is_delivered_within_seconds_by_the_others(
        postgres_cluster: PostgresCluster, tmp_path: Path):
    url = postgres_cluster.new_database("fleet_kill")
    load_queue(url, MAILS)
    server = CountingServer().start()
    fleet = Fleet(tmp_path, url, server.port, workers=WORKERS)  # default claim_lease
    try:
        fleet.start()
        victim = fleet.pid(0)
        assert victim is not None
        deadline = time.monotonic() + 60
        while not (held := _held_by(url, victim)):  # the victim is sending a batch
            assert time.monotonic() < deadline, fleet.logs()
            time.sleep(0.02)
        fleet.kill(0)  # not started again: the other three must take its batch
        killed = time.monotonic()
        held = sorted(set(held) | set(_held_by(url, victim)))
        while _unsent(url, held):
            assert time.monotonic() - killed < WITHIN, (
                f"{_unsent(url, held)} of the killed worker's {len(held)} mails not sent "
                f"{WITHIN} s after the kill\n{fleet.logs()}")
            time.sleep(0.05)
        recovered = time.monotonic() - killed
        codes = fleet.wait(timeout=90)
    finally:
        fleet.stop()
        server.stop()
    print(f"fleet: the killed worker's {len(held)} mails were all sent {recovered:.2f} s "
          f"after the kill")
    assert codes[1:] == [0] * (WORKERS - 1), fleet.logs()
    assert set(server.received) == {f"<{n}@fleet.test>" for n in range(MAILS)}
    assert _status_counts(url) == {"sent": MAILS}
