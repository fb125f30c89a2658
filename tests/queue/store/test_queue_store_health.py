"""The store's flush journal and health read (``QueueStore`` contract, every engine).

* ``begin_flush_run`` journals a flush that took the lock; ``finish_flush_run``
  records how it ended; a run never finished (a killed flusher) stays unfinished;
* the journal keeps the newest ``KEEP_RUNS`` runs only;
* ``health`` counts every status, finds the oldest waiting mail (queued,
  deferred, sending, held: not failed or expired), the newest run, the last
  delivery (a sent message's, or the journal's after sent mail was pruned)
  and the holders of the messages being sent.
"""

from __future__ import annotations

import io
from datetime import timedelta

from smtpq.queue.records import KEEP_RUNS, AttemptRecord, FlushRunEnd
from smtpq.queue.states import MessageStatus
from smtpq.queue.store.interface import QueueStore
from tests.queue.helpers import LEASE, T0, mail, new_message

HOUR = timedelta(hours=1)


def enqueue(store: QueueStore, at=T0) -> int:
    return store.enqueue(new_message("you@example.net"), io.BytesIO(mail()), now=at)


def sent_attempt(at=T0) -> AttemptRecord:
    return AttemptRecord(started=at, finished=at, exit_code=0, smtp_status=250,
                         smtp_message="250 ok", log_line="exitcode=EX_OK")


def test_an_empty_queue_has_zero_counts_and_nothing_else(store: QueueStore) -> None:
    health = store.health()
    assert health.counts == {status.value: 0 for status in MessageStatus}
    assert (health.oldest_pending, health.last_run, health.last_delivery) == (None, None, None)
    assert health.sending == ()


def test_a_run_is_journaled_at_its_start_and_completed_at_its_end(store: QueueStore) -> None:
    run_id = store.begin_flush_run("host-a", 4242, T0)
    running = store.health().last_run
    assert running is not None
    assert (running.id, running.host, running.pid, running.started) == (run_id, "host-a", 4242, T0)
    assert running.finished is None and running.exit_code is None

    store.finish_flush_run(run_id, FlushRunEnd(T0 + HOUR, 75, sent=2, deferred=1, unreachable=3,
                                               last_sent=T0 + HOUR / 2, note="offline: refused"))
    done = store.health().last_run
    assert done is not None
    assert (done.finished, done.exit_code, done.sent, done.deferred, done.unreachable,
            done.note) == (T0 + HOUR, 75, 2, 1, 3, "offline: refused")
    assert store.health().last_delivery == T0 + HOUR / 2


def test_a_killed_run_stays_unfinished_and_the_newest_run_is_shown(store: QueueStore) -> None:
    killed = store.begin_flush_run("host-a", 1, T0)
    newest = store.begin_flush_run("host-a", 2, T0 + HOUR)
    store.finish_flush_run(newest, FlushRunEnd(T0 + 2 * HOUR, 0))
    last = store.health().last_run
    assert last is not None and (last.id, last.pid, last.exit_code) == (newest, 2, 0)
    assert killed != newest


def test_the_journal_keeps_the_newest_runs_only(store: QueueStore) -> None:
    ids = []
    for number in range(KEEP_RUNS + 5):
        run_id = store.begin_flush_run("h", number, T0 + timedelta(seconds=number))
        store.finish_flush_run(run_id, FlushRunEnd(T0 + timedelta(seconds=number), 0))
        ids.append(run_id)
    with _connection(store) as c:
        from sqlalchemy import func, select

        from smtpq.queue.store.sql.models import flush_runs

        kept = sorted(c.execute(select(flush_runs.c.id)).scalars())
        assert c.execute(select(func.count()).select_from(flush_runs)).scalar() == KEEP_RUNS
    assert kept == ids[-KEEP_RUNS:]


def test_counts_oldest_waiting_mail_last_delivery_and_holders(store: QueueStore) -> None:
    failed = enqueue(store, at=T0 - 3 * HOUR)  # older, but not waiting
    waiting = enqueue(store, at=T0 - 2 * HOUR)
    sent = enqueue(store, at=T0 - HOUR)
    claimed = enqueue(store, at=T0)
    store.claim_due(T0, limit=1, worker_id="w", lease=LEASE, ids=[failed])
    store.fail(failed, T0)
    store.claim_due(T0, limit=1, worker_id="w", lease=LEASE, ids=[sent])
    store.mark_sent(sent, T0 + timedelta(minutes=1), attempt=sent_attempt())
    store.claim_due(T0, limit=1, worker_id="host-b:77", lease=LEASE, ids=[claimed])

    health = store.health()
    assert health.counts["queued"] == 1 and health.counts["failed"] == 1
    assert health.counts["sent"] == 1 and health.counts["sending"] == 1
    assert health.oldest_pending == T0 - 2 * HOUR  # message `waiting`
    assert health.last_delivery == T0 + timedelta(minutes=1)
    assert [(h.message_id, h.claimed_by) for h in health.sending] == [(claimed, "host-b:77")]
    assert waiting not in [h.message_id for h in health.sending]


def _connection(store: QueueStore):  # type: ignore[no-untyped-def]
    return store._engine.begin()  # type: ignore[attr-defined]  # a look at the table itself
