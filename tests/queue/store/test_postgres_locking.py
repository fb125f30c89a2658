"""On PostgreSQL, flushers on many hosts share one queue through row locks, never by waiting.

What only a server database shows: a claim skips the rows another
transaction holds (``FOR NO KEY UPDATE SKIP LOCKED``) instead of queueing
behind them, housekeeping leaves a message alone while its flusher is
finishing it, a purge waits for a claim in progress and then spares the
claimed mail, every connection runs at READ COMMITTED whatever the server's
default, and flushers that find an empty database at once migrate it once.
The behaviour every engine shares is in ``test_queue_store_contract.py``.
"""

from __future__ import annotations

import io
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, make_url

from smtpq.queue.states import MessageStatus
from smtpq.queue.store.rows import HEAD
from smtpq.queue.store.sql.migrate import current_revision
from smtpq.queue.store.sql.store import SqlStore, open_store
from tests.queue.helpers import LEASE, T0, new_message

S = MessageStatus


@pytest.fixture
def pg_store(postgres_url: str) -> Iterator[SqlStore]:
    with open_store(postgres_url) as store:
        yield store


@pytest.fixture
def other_session(postgres_url: str) -> Iterator[Connection]:
    """A second client of the same database, with a transaction of its own left open."""
    engine = create_engine(postgres_url)
    with engine.connect() as connection:
        connection.begin()
        yield connection
        connection.rollback()
    engine.dispose()


def _fill(store: SqlStore, count: int) -> list[int]:
    return [store.enqueue(new_message(), io.BytesIO(b"mail"), now=T0) for _ in range(count)]


def _claim(store: SqlStore, worker: str, at=T0, limit: int = 10) -> list[int]:
    return [m.id for m in store.claim_due(at, limit=limit, worker_id=worker, lease=LEASE)]


def _in_thread(call) -> tuple[threading.Thread, list]:  # noqa: ANN001
    result: list = []
    thread = threading.Thread(target=lambda: result.append(call()), daemon=True)
    thread.start()
    return thread, result


def test_a_claim_skips_rows_another_flusher_holds_without_waiting(
        pg_store: SqlStore, other_session: Connection):
    first, second, third = _fill(pg_store, 3)
    other_session.execute(text("SELECT id FROM messages WHERE id = :id FOR UPDATE"), {"id": first})
    started = time.monotonic()
    assert _claim(pg_store, "w2") == [second, third]
    assert time.monotonic() - started < 2


def test_reclaim_leaves_a_message_its_flusher_is_finishing(
        pg_store: SqlStore, other_session: Connection):
    busy, idle = _fill(pg_store, 2)
    _claim(pg_store, "w1")
    # w1, past its lease, is recording its verdict on *busy* right now.
    other_session.execute(text("SELECT id FROM messages WHERE id = :id FOR NO KEY UPDATE"),
                          {"id": busy})
    assert pg_store.reclaim_expired(T0 + 2 * LEASE) == [idle]
    other_session.rollback()
    assert pg_store.reclaim_expired(T0 + 2 * LEASE) == [busy]


def test_a_purge_waits_for_a_claim_in_progress_and_spares_the_claimed_mail(
        pg_store: SqlStore, other_session: Connection):
    claimed, other = _fill(pg_store, 2)
    # Another flusher's claim, not committed yet.
    other_session.execute(text("UPDATE messages SET status = 'sending', claimed_by = 'w9' "
                               "WHERE id = :id"), {"id": claimed})
    thread, result = _in_thread(lambda: pg_store.purge(statuses=list(S)))
    time.sleep(0.5)
    assert thread.is_alive(), "the purge should wait for the claim's transaction"
    other_session.commit()
    thread.join(10)
    assert result == [[other]]
    detail = pg_store.get_message(claimed)
    assert detail is not None and detail.status == S.SENDING


def test_a_verdict_waits_for_a_claim_in_progress_then_applies(
        pg_store: SqlStore, other_session: Connection):
    [message_id] = _fill(pg_store, 1)
    _claim(pg_store, "w1")
    other_session.execute(text("SELECT id FROM messages WHERE id = :id FOR NO KEY UPDATE"),
                          {"id": message_id})
    thread, result = _in_thread(lambda: pg_store.fail(message_id, T0, worker_id="w1"))
    time.sleep(0.3)
    assert thread.is_alive()
    other_session.rollback()
    thread.join(10)
    assert result == [True]


def test_connections_run_at_read_committed_whatever_the_server_default(postgres_url: str):
    name = make_url(postgres_url).database
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'ALTER DATABASE "{name}" '
                                "SET default_transaction_isolation = 'serializable'"))
    admin.dispose()
    with open_store(postgres_url) as store, store._engine.connect() as connection:  # noqa: SLF001
        assert connection.execute(text("SHOW transaction_isolation")).scalar() == "read committed"


def test_a_url_without_a_driver_name_uses_psycopg(postgres_url: str):
    bare = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    with open_store(bare) as store:
        assert store._engine.dialect.driver == "psycopg"  # noqa: SLF001
        assert store.list_messages() == []


OPENER = r"""
import os, sys, time
from smtpq.queue.store.sql.store import open_store
url, go = sys.argv[1:3]
while not os.path.exists(go):
    time.sleep(0.002)
with open_store(url) as store:
    print(len(store.list_messages()))
"""


def test_flushers_finding_an_empty_database_at_once_migrate_it_once(
        postgres_url: str, tmp_path: Path):
    go = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", OPENER, postgres_url, str(go)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(4)]
    time.sleep(0.8)  # let them import and wait at the barrier
    go.touch()
    outputs = [proc.communicate(timeout=60) for proc in procs]
    assert [proc.returncode for proc in procs] == [0] * 4, [err for _, err in outputs]
    assert [out for out, _ in outputs] == ["0\n"] * 4
    assert current_revision(postgres_url) == HEAD


def test_claims_from_clocks_ahead_or_behind_follow_the_lease_given(pg_store: SqlStore):
    """Leases are the caller's clock plus the lease: hosts must keep their clocks in step."""
    [message_id] = _fill(pg_store, 1)
    [claimed] = pg_store.claim_due(T0, limit=1, worker_id="w1", lease=timedelta(seconds=30))
    assert claimed.claim_expires == T0 + timedelta(seconds=30)
    assert pg_store.reclaim_expired(T0 + timedelta(seconds=29)) == []
    assert pg_store.reclaim_expired(T0 + timedelta(seconds=31)) == [message_id]
