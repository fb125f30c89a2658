"""A flusher that stalled past its lease sends nothing more of its batch (on both engines).

Another flusher (another host, on a shared queue) may have taken the lapsed
claims over; sending them too would deliver the mail twice.  The stalled
flusher notices when it next renews its leases and stops its batch.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from smtpq.queue.errors import ClaimsLost
from smtpq.queue.flush.worker import FlushReport, Worker
from smtpq.queue.new_message import NewMessage
from smtpq.queue.settings import QueueSettings


def _settings(lease: timedelta) -> QueueSettings:
    return QueueSettings(database="unused", claim_lease=lease)  # type: ignore[call-arg]


def _enqueue(store, n: int) -> list[int]:
    return [store.enqueue(NewMessage("a", "f@example.org", (f"r{i}@example.net",)),
                          [b"Subject: x\n\nbody\n"]) for i in range(n)]


def test_a_worker_whose_claims_were_taken_over_stops(store, other_store) -> None:
    _enqueue(store, 3)
    lease = timedelta(seconds=30)
    now = datetime.now(UTC)
    worker = Worker(store, _settings(lease), {}, FlushReport(), None)
    batch = store.claim_due(now, limit=10, worker_id=worker.worker_id, lease=lease)
    worker.outstanding = {m.id for m in batch}
    # The worker stalls past its lease; another flusher reclaims and claims the mail.
    later = now + 2 * lease
    other_store.reclaim_expired(later)
    assert other_store.claim_due(later, limit=10, worker_id="other:1", lease=lease)
    worker.renewed = 0.0  # long ago: renew now
    with pytest.raises(ClaimsLost):
        worker.renew()


def test_a_worker_that_still_holds_its_claims_goes_on(store) -> None:
    _enqueue(store, 2)
    lease = timedelta(seconds=30)
    worker = Worker(store, _settings(lease), {}, FlushReport(), None)
    batch = store.claim_due(datetime.now(UTC), limit=10, worker_id=worker.worker_id, lease=lease)
    worker.outstanding = {m.id for m in batch}
    worker.renewed = 0.0
    worker.renew()  # no exception: both claims are still ours
