"""Group commit of the flush's verdicts: the outcomes of several mails, one transaction.

A durable commit per mail (one fsync each, plus the transaction's own cost)
was most of what a flush spent per mail.  The flusher now keeps the verdicts
of the mails it has sent and commits them together (``QueueStore.apply``):

* when half of ``GROUP_SIZE`` verdicts are waiting, or the oldest has waited
  ``GROUP_AGE`` seconds — if the database is free at that moment (another
  worker of a ``parallel_connections`` flush may be writing: rather than wait
  for SQLite's lock, the flusher goes on sending and tries again after the
  next mail) — and at the latest, waiting for the lock, at ``GROUP_SIZE``;
* whenever the server keeps the flusher waiting for a reply longer than
  ``smtpq.sender.protocol.session.IDLE_WAIT`` (``commit_when_idle``, the
  session's ``on_idle``): a slow server costs no duplicates;
* before anything that may take long or lose track (renewing leases, opening
  a connection, a QUIT, the end of the flush).

What this costs: a flusher killed between two commits sends again the mails
whose verdicts it had not committed — at most ``UNRECORDED_AT_MOST`` per
connection, mails the server had taken within about the last ``GROUP_AGE``
seconds.  RFC 5321 §3.8 (and §6.1) make that the accepted risk: a mail whose
fate is unknown is sent again, never lost.  Nothing else changes: every
commit is as durable as before (SQLite WAL with ``synchronous=FULL``), the
claims keep every unrecorded mail in ``sending`` until its lease runs out.

Thread-safe: the routes of a flush are delivered in threads of their own
(``route_lanes``), which add verdicts and commit through one ``GroupCommit``.
"""

from __future__ import annotations

import contextlib
import threading
import time

from smtpq.queue.records import Transition
from smtpq.queue.store.interface import QueueStore

#: Most verdicts waiting for one commit (the duplicate window of a killed flusher).
GROUP_SIZE = 64
#: Longest a verdict waits for its commit while the flusher is busy, in seconds.
GROUP_AGE = 0.1
#: Most mails one connection of a killed flusher may have had taken by the server
#: without a committed verdict: the verdicts waiting for their commit (fewer than
#: ``GROUP_SIZE``), one answered but not yet recorded, the one in flight.
UNRECORDED_AT_MOST = GROUP_SIZE + 1


class GroupCommit:
    """Verdicts waiting to be committed together, in the order they were reached."""

    def __init__(self, store: QueueStore, *, size: int = GROUP_SIZE,
                 age: float = GROUP_AGE) -> None:
        self.store, self.size, self.age = store, size, age
        self.pending: list[Transition] = []
        self._oldest = 0.0  # time.monotonic() of the first pending verdict
        self._lock = threading.RLock()

    def add(self, transition: Transition) -> None:
        """Keep *transition*; commit the group once it is big or old enough."""
        with self._lock:
            if not self.pending:
                self._oldest = time.monotonic()
            self.pending.append(transition)
            if len(self.pending) >= self.size:
                self.commit()
            elif (2 * len(self.pending) >= self.size
                  or time.monotonic() - self._oldest >= self.age):
                self._try_commit()

    def _try_commit(self) -> None:
        with self._lock:
            if self.pending and self.store.try_apply(self.pending) is not None:
                self.pending = []

    def commit(self) -> None:
        """Apply every pending verdict in one transaction (raises ``StoreError``)."""
        with self._lock:
            if self.pending:
                self.store.apply(self.pending)
                self.pending = []

    def commit_when_idle(self) -> None:
        """``commit`` while the server keeps us waiting; a failure waits for the next
        ``commit``, which raises it (this runs inside the SMTP client).  Skipped
        while another route's thread is committing: the verdicts are on their way."""
        if not self._lock.acquire(blocking=False):
            return
        try:
            with contextlib.suppress(Exception):  # retried, and then raised, by the next commit
                self._try_commit()
        finally:
            self._lock.release()
