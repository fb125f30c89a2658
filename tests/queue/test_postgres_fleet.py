"""One queue for a fleet: four flush workers on one PostgreSQL queue, killed at random.

Four real worker processes (``run_flush`` in a loop, each in its own data
directory, so that nothing but the database is shared: four hosts) drain a
queue of 5,000 mails into an SMTP server on 127.0.0.1 that counts what it
accepted by Message-ID.  Meanwhile workers are SIGKILLed at random moments
(mid-claim, mid-DATA, mid-verdict) and started again; leases are 2 s, so a
dead worker's claims are taken over quickly.

Delivery is at-least-once (RFC 5321 §3.8): a worker killed after the server
accepted a mail but before its verdict was committed causes a duplicate.
Verdicts are committed in groups (``smtpq.queue.group_commit``), so a kill
may cost up to ``UNRECORDED_AT_MOST`` duplicates, the mails sent since the
last commit.  So: every mail delivered, at most that many duplicates per kill,
nothing left queued, deferred or sending.
"""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import func, select

from smtpq.queue.group_commit import UNRECORDED_AT_MOST
from smtpq.queue.models import messages
from smtpq.queue.sql_store import open_store
from tests.support.fleet import CountingServer, Fleet, load_queue
from tests.support.postgres import PostgresCluster

MAILS = 5000
WORKERS = 4
KILLS = 10


def _status_counts(url: str) -> dict[str, int]:
    with open_store(url) as store, store._engine.connect() as c:  # noqa: SLF001 - inspection
        rows = c.execute(select(messages.c.status, func.count()).group_by(messages.c.status))
        return {str(getattr(status, "value", status)): count for status, count in rows}


def test_four_workers_killed_at_random_deliver_every_mail_once_but_for_the_unrecorded(
        postgres_cluster: PostgresCluster, tmp_path: Path):
    seed = int(os.environ.get("SMTPQ_FLEET_SEED", time.time_ns() % 100_000))
    rng = random.Random(seed)
    url = postgres_cluster.new_database("fleet")
    load_queue(url, MAILS)
    server = CountingServer().start()
    fleet = Fleet(tmp_path, url, server.port, workers=WORKERS, lease="2s")
    try:
        fleet.start()
        while fleet.kills < KILLS and fleet.running():
            time.sleep(rng.uniform(0.2, 1.0))
            victim = rng.choice(range(WORKERS))
            if fleet.kill(victim):
                fleet.start(victim)
        codes = fleet.wait(timeout=90)
    finally:
        fleet.stop()
        server.stop()
    received = server.received
    duplicates = sum(received.values()) - MAILS
    print(f"fleet: seed {seed}, {fleet.kills} kills, {len(received)} mails delivered, "
          f"{duplicates} duplicates")
    context = f"seed {seed}, {fleet.kills} kills\n{fleet.logs()}"

    assert codes == [0] * WORKERS, context
    assert fleet.kills >= KILLS // 2, f"the queue drained before enough kills; {context}"
    assert set(received) == {f"<{n}@fleet.test>" for n in range(MAILS)}, context
    assert duplicates <= fleet.kills * UNRECORDED_AT_MOST, (
        f"{duplicates} duplicates: {Counter(c for c in received.values() if c > 1)}; {context}")
    assert _status_counts(url) == {"sent": MAILS}, context
