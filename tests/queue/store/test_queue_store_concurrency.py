"""Claims are atomic: concurrent flushers on one database never get the same message.

Part of the store contract (runs for every engine).  Threads each open their
own store (own connections); processes are real separate programs, started
together behind a barrier file so that they do race.  Every claimer stays
alive until all are done: on PostgreSQL the claims of a claimer that is gone
are taken back by the next claim at once (``smtpq.queue.store.sql.liveness``).
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

from smtpq.queue.store.interface import QueueStore
from smtpq.queue.store.sql.store import open_store
from tests.queue.helpers import LEASE, T0, new_message

CLAIMER = r"""
import json, os, sys, time
from datetime import datetime, timedelta
from smtpq.queue.store.sql.store import open_store

url, worker, start_file, stop_file = sys.argv[1:5]
now = datetime.fromisoformat(sys.argv[5])
with open_store(url, migrate=False) as store:
    while not os.path.exists(start_file):
        time.sleep(0.005)
    got = []
    while batch := store.claim_due(now, limit=2, worker_id=worker, lease=timedelta(minutes=5)):
        got += [m.id for m in batch]
    print(json.dumps(got), flush=True)
    while not os.path.exists(stop_file):  # alive, holding its claims, until all are done
        time.sleep(0.005)
"""


def _fill(store: QueueStore, count: int) -> list[int]:
    return [store.enqueue(new_message(), io.BytesIO(b"x"), now=T0) for _ in range(count)]


def _assert_partition(claims: list[list[int]], ids: list[int]) -> None:
    flat = [message_id for claimed in claims for message_id in claimed]
    assert sorted(flat) == ids, "every message claimed exactly once"


def test_concurrent_claimers_in_threads_never_share_a_message(store: QueueStore, db_url: str):
    ids = _fill(store, 60)
    barrier, done = threading.Barrier(4), threading.Barrier(4)
    claims: list[list[int]] = [[] for _ in range(4)]

    def claimer(index: int) -> None:
        with open_store(db_url, migrate=False) as own:
            barrier.wait()
            while batch := own.claim_due(T0, limit=2, worker_id=f"t{index}", lease=LEASE):
                claims[index] += [m.id for m in batch]
            done.wait(timeout=60)  # alive, holding its claims, until all are done

    threads = [threading.Thread(target=claimer, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    _assert_partition(claims, ids)


def test_concurrent_claimers_in_processes_never_share_a_message(
        store: QueueStore, db_url: str, tmp_path: Path):
    ids = _fill(store, 60)
    start, stop = tmp_path / "start", tmp_path / "stop"
    procs = [subprocess.Popen(
        [sys.executable, "-c", CLAIMER, db_url, f"p{i}", str(start), str(stop), T0.isoformat()],
        stdout=subprocess.PIPE, text=True) for i in range(4)]
    time.sleep(0.5)  # let them import and wait at the barrier
    start.touch()
    try:
        outputs = [proc.stdout.readline() for proc in procs]  # type: ignore[union-attr]
    finally:
        stop.touch()
    assert [proc.wait(timeout=60) for proc in procs] == [0] * 4
    _assert_partition([json.loads(out) for out in outputs], ids)
