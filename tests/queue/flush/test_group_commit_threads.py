"""The group commit is shared by the routes' threads of a flush: no verdict lost or doubled.

Each route of a flush is delivered in a thread of its own (``route_lanes``),
and every thread adds its verdicts to the one ``GroupCommit`` (and commits
when its server keeps it waiting).  Threads adding at once, on a real store,
must leave every message with exactly its verdict, and one history entry.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from smtpq.queue.flush.group_commit import GroupCommit
from smtpq.queue.new_message import NewMessage
from smtpq.queue.records import AttemptRecord, RecipientResult, Transition
from smtpq.queue.states import MessageStatus
from smtpq.sender.delivery.outcome import RecipientStatus

THREADS = 4
EACH = 60


def test_verdicts_added_from_several_threads_are_each_committed_once(store) -> None:
    ids = [store.enqueue(NewMessage("a", "f@example.org", (f"r{i}@example.net",)),
                         [b"Subject: x\n\nbody\n"]) for i in range(THREADS * EACH)]
    now = datetime.now(UTC)
    claimed = store.claim_due(now, limit=len(ids), worker_id="me:1", lease=timedelta(minutes=5))
    assert len(claimed) == len(ids)
    commits = GroupCommit(store)
    start = threading.Barrier(THREADS)

    def route(share: list[int]) -> None:
        start.wait()
        for message_id in share:
            commits.add(Transition(
                message_id, MessageStatus.SENT, now,
                (RecipientResult(0, RecipientStatus.SENT, 250, "250 ok"),),
                AttemptRecord(now, now, 0, 250, "250 ok"), None, "me:1"))
            commits.commit_when_idle()  # as a session waiting for its server does

    threads = [threading.Thread(target=route, args=(ids[n::THREADS],)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    commits.commit()

    assert commits.pending == []
    for message_id in ids:
        detail = store.get_message(message_id)
        assert detail.status is MessageStatus.SENT
        assert len(detail.history) == 1
