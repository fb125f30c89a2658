"""Claim liveness on PostgreSQL: a worker's claims live exactly as long as its session.

A claim carries the key of the claimer's session-level advisory lock
(``messages.claim_token``); when the session is gone — the store closed, the
backend terminated, the process SIGKILLed — the next claim or sweep on any
store takes the mail back at once, without waiting for the lease.  While the
session lives, its claims are renewed (the heartbeat) and left alone; the
lease only catches a worker that stopped running with its session open
(SIGSTOP).  Tests about the lease use a short one; the others the default.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from smtpq.queue.settings import QueueSettings
from smtpq.queue.states import MessageStatus
from smtpq.queue.store.sql.models import messages
from smtpq.queue.store.sql.store import SqlStore, open_store
from tests.queue.helpers import LEASE, mail, new_message
from tests.support.queue_home import (  # noqa: F401 - fixtures
    QueueHome,
    SlowHandler,
    queue_home,
    server_at,
)

S = MessageStatus
M = messages.c
DEADLINE = 30.0  # generous: the takeover itself is immediate

#: A worker in its own process: claim everything due, say so, then sleep holding it.
CLAIMER = r"""
import sys, time
from datetime import UTC, datetime, timedelta
from smtpq.queue.store.sql.store import open_store
store = open_store(sys.argv[1])
claimed = store.claim_due(datetime.now(UTC), limit=100, worker_id="elsewhere:1",
                          lease=timedelta(seconds=float(sys.argv[2])))
print(len(claimed), flush=True)
time.sleep(3600)
"""


@pytest.fixture
def url(postgres_url: str) -> str:
    with open_store(postgres_url):
        pass  # the schema, once
    return postgres_url


@pytest.fixture
def store(url: str) -> Iterator[SqlStore]:
    with open_store(url, migrate=False) as opened:
        yield opened


def now() -> datetime:
    return datetime.now(UTC)


def enqueue(store: SqlStore, count: int = 1) -> list[int]:
    return [store.enqueue(new_message(), io.BytesIO(mail(seed=n))) for n in range(count)]


def claim(store: SqlStore, *, lease: timedelta = LEASE, after_id: int = 0) -> list[int]:
    return [m.id for m in store.claim_due(now(), limit=100, worker_id="here:1", lease=lease,
                                          after_id=after_id)]


def tokens(store: SqlStore, ids: list[int]) -> set[int | None]:
    with store._engine.connect() as c:  # noqa: SLF001 - inspection
        return set(c.execute(select(M.claim_token).where(M.id.in_(ids))).scalars())


def lease_end(store: SqlStore, message_id: int) -> datetime:
    with store._engine.connect() as c:  # noqa: SLF001 - inspection
        return c.execute(select(M.claim_expires).where(M.id == message_id)).scalar_one()


class Claimer:
    """A claiming worker in a process of its own."""

    def __init__(self, url: str, lease: timedelta = LEASE) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", CLAIMER, url,
                                      str(lease.total_seconds())], stdout=subprocess.PIPE)
        assert self.proc.stdout is not None
        self.claimed = int(self.proc.stdout.readline() or 0)

    def signal(self, number: int) -> None:
        os.kill(self.proc.pid, number)

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()


@pytest.fixture
def claimers() -> Iterator[list[Claimer]]:
    started: list[Claimer] = []
    yield started
    for claimer in started:
        claimer.kill()


def wait_for(condition, what: str) -> float:  # noqa: ANN001
    """Poll *condition* until true; the seconds it took."""
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < DEADLINE, f"not within {DEADLINE} s: {what}"
        time.sleep(0.05)
    return time.monotonic() - start


def test_every_claim_carries_the_key_of_a_lock_its_session_holds(store: SqlStore):
    ids = enqueue(store, 3)
    assert claim(store) == ids
    [token] = tokens(store, ids)
    assert token is not None and token > 0
    with store._engine.connect() as c:  # noqa: SLF001 - inspection
        held = c.execute(text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                              "AND granted AND (classid::bigint << 32 | objid::bigint) = :k"),
                         {"k": token}).scalar_one()
    assert held == 1
    assert store.claim_holders_alive(ids) == dict.fromkeys(ids, True)


def test_a_finished_claim_forgets_its_key(store: SqlStore):
    [message_id] = enqueue(store)
    claim(store)
    store.mark_sent(message_id, now())
    assert tokens(store, [message_id]) == {None}


def test_mail_of_a_closed_session_is_taken_back_by_the_next_claim_below_its_after_id(
        url: str, store: SqlStore):
    ids = enqueue(store, 3)
    with open_store(url, migrate=False) as dead:
        assert claim(dead) == ids
    assert store.claim_holders_alive(ids) == dict.fromkeys(ids, False)
    # A flush already past these ids still takes them: it never had them.
    assert claim(store, after_id=ids[-1]) == ids
    detail = store.get_message(ids[0])
    assert detail is not None and (detail.status, detail.deferrals) == (S.SENDING, 0)


def test_mail_of_a_terminated_backend_is_taken_back_by_the_housekeeping_sweep(
        url: str, store: SqlStore):
    ids = enqueue(store, 2)
    other = open_store(url, migrate=False)
    try:
        claim(other)
        [token] = tokens(store, ids)
        with store._engine.connect() as c:  # noqa: SLF001 - the server ends that session
            c.execute(text("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = "
                           "'advisory' AND (classid::bigint << 32 | objid::bigint) = :k"),
                      {"k": token})
        wait_for(lambda: store.claim_holders_alive(ids) == dict.fromkeys(ids, False),
                 "the session is gone")
        assert store.reclaim_expired(now()) == ids
        assert {store.get_message(i).status for i in ids} == {S.QUEUED}  # type: ignore[union-attr]
    finally:
        other.close()  # its session is broken: closing must not raise


def test_mail_of_a_sigkilled_worker_is_claimed_again_within_seconds_with_the_default_lease(
        url: str, store: SqlStore, claimers: list[Claimer]):
    assert QueueSettings(database=url).claim_lease == LEASE  # the default users run
    ids = enqueue(store, 5)
    claimers.append(claimer := Claimer(url))
    assert claimer.claimed == 5
    assert claim(store) == []  # alive: its mail is its own
    claimer.kill()
    taken: list[int] = []
    took = wait_for(lambda: bool(taken.extend(claim(store))) or taken == ids, "claimed again")
    print(f"mail of a SIGKILLed worker claimed again after {took:.2f} s")
    assert took < 10.0  # "within seconds": the lease would take 300


def test_a_live_sessions_heartbeat_renews_its_leases(store: SqlStore):
    lease = timedelta(seconds=3)  # short: this test is about the lease
    [message_id] = enqueue(store)
    claim(store, lease=lease)
    first = lease_end(store, message_id)
    wait_for(lambda: lease_end(store, message_id) > first, "a renewal")
    time.sleep(lease.total_seconds() + 1)  # the first lease is long over
    assert store.reclaim_expired(now()) == []
    assert lease_end(store, message_id) > now()


def test_a_stopped_worker_with_a_live_session_loses_its_claims_at_the_lease_only(
        url: str, store: SqlStore, claimers: list[Claimer]):
    lease = timedelta(seconds=3)  # short: this test is about the lease as the backstop
    ids = enqueue(store, 2)
    claimers.append(claimer := Claimer(url, lease))
    claimer.signal(signal.SIGSTOP)  # its session stays open, its heartbeat stops
    assert store.claim_holders_alive(ids) == dict.fromkeys(ids, True)
    assert claim(store) == []
    wait_for(lambda: store.reclaim_expired(now()) == ids, "the lease ran out")
    claimer.signal(signal.SIGCONT)


def test_each_worker_process_of_a_parallel_flush_claims_with_a_session_of_its_own(
        queue_home: QueueHome, url: str, server_at):
    queue_home.url = url
    queue_home.env["SMTPQ_DATABASE"] = url
    queue_home.configure(parallel_connections=2)
    server = server_at(handler=SlowHandler(delay=0.05))  # slow: both workers hold claims a while
    queue_home.account(server.port)
    queue_home.sendmail_many(
        f"To: you@example.net\nSubject: p{n}\n\nmail {n}\n".encode() for n in range(40))
    seen: set[int] = set()
    with open_store(url, migrate=False) as store:
        flusher = queue_home.start_flush()
        try:
            def both_seen() -> bool:
                with store._engine.connect() as c:  # noqa: SLF001 - inspection
                    seen.update(c.execute(select(M.claim_token).where(
                        M.status == S.SENDING, M.claim_token.is_not(None))).scalars())
                return len(seen) >= 2 or flusher.poll() is not None
            wait_for(both_seen, "claims of both workers")
        finally:
            assert flusher.wait(120) == 0
        assert len(seen) == 2
        assert tokens(store, [m.id for m in store.list_messages([S.SENT])]) == {None}
    assert len(server.messages) == 40


def test_after_its_session_broke_a_store_claims_with_a_new_live_session(store: SqlStore):
    ids = enqueue(store, 2)
    assert claim(store) == ids
    [old] = tokens(store, ids)
    with store._engine.connect() as c:  # noqa: SLF001 - the server ends that session
        c.execute(text("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = "
                       "'advisory' AND (classid::bigint << 32 | objid::bigint) = :k"), {"k": old})
    wait_for(lambda: store.claim_holders_alive(ids) == dict.fromkeys(ids, False),
             "the session is gone")
    [third] = enqueue(store)
    # Never stamped with the dead key (the next claim anywhere would take it back at once):
    # a new session; the mail of the broken one is taken back like any dead worker's.
    assert claim(store, after_id=ids[-1]) == [*ids, third]
    [new] = tokens(store, [*ids, third])
    assert new != old
    assert store.claim_holders_alive([*ids, third]) == dict.fromkeys([*ids, third], True)
    assert store.renew_claims([third], worker_id="here:1", until=now() + LEASE) == 1


def test_list_and_show_say_whether_a_holder_on_another_host_lives(url: str) -> None:
    """The database vouches for a holder its host cannot be asked about (its session)."""
    import json

    from tests.support.queue_home import SMTPQ

    with open_store(url) as store:
        message_id = store.enqueue(new_message("a@example.net"), [mail()])
    env = {**os.environ, "SMTPQ_DATABASE": url}
    claimer = subprocess.Popen([sys.executable, "-c", CLAIMER, url, str(LEASE.total_seconds())],
                               stdout=subprocess.PIPE, text=True)
    try:
        assert claimer.stdout is not None and claimer.stdout.readline().strip() == "1"

        def holder(command: str) -> dict[str, object]:
            out = subprocess.run([SMTPQ, command, *(["--json"] if command == "list" else
                                                    [str(message_id), "--json"])],
                                 env=env, capture_output=True, text=True, check=True).stdout
            found = json.loads(out)
            return (found[0] if isinstance(found, list) else found)["holder"]

        assert holder("list") == holder("show") == {"host": "elsewhere", "pid": 1, "alive": True}
        claimer.kill()
        claimer.wait()
        deadline = time.monotonic() + DEADLINE
        while holder("show")["alive"] is not False and time.monotonic() < deadline:
            time.sleep(0.2)  # the server notices the dead connection
        assert holder("list") == holder("show") == {"host": "elsewhere", "pid": 1, "alive": False}
    finally:
        claimer.kill()
        claimer.wait()
