"""The queue store interface: what the flush worker and the management commands rely on.

One implementation today (``smtpq.queue.store.sql.store.SqlStore``, SQLite and
PostgreSQL through SQLAlchemy); ``tests/queue/store/test_queue_store_contract.py``
is written against this interface only, once, and runs for every engine.

Rules every implementation keeps:

- every method that changes state commits before returning (one transaction
  per call; on SQLite WAL + ``synchronous=FULL``), so a crash loses nothing
  that a method reported done (``apply`` commits several verdicts at once);
- delivery is at-least-once: a message is claimed (``sending``, with a lease)
  before its DATA and marked sent only after the server's reply to it;
  a flusher that dies leaves the claim to expire and ``reclaim_expired``
  queues the message again (or, where its death is known, ``release_claims``
  does at once) (RFC 5321 §3.8: an unknown outcome is treated
  like a 451, so a duplicate is the accepted risk, never a loss); on
  PostgreSQL a claim also carries the claimer's session (``store.sql.liveness``), and
  the claims of a session that is gone are taken back by the next
  ``claim_due`` or ``reclaim_expired`` at once, lease or not;
- times are passed in (``now``), aware UTC, so callers and tests control the clock.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta
from typing import BinaryIO, Protocol

from smtpq.queue.new_message import Content, NewMessage
from smtpq.queue.records import (
    AttemptRecord,
    ClaimedMessage,
    FlushRunEnd,
    MessageDetail,
    MessageSummary,
    NoticeDue,
    QueueHealth,
    RecipientResult,
    Route,
    Transition,
)
from smtpq.queue.states import PENDING, MessageStatus


class QueueStore(Protocol):
    """The persistent queue.  Transitions return False when the message was not in a
    state they apply to (e.g. its claim was lost), True when they were applied."""

    def close(self) -> None:
        """Release connections."""

    # -- enqueue -------------------------------------------------------------

    def enqueue(self, message: NewMessage, content: Content, *, now: datetime | None = None) -> int:
        """Store a new queued message with the bytes of *content*; its id."""

    # -- flush -----------------------------------------------------------------

    def claim_due(self, now: datetime, *, limit: int, worker_id: str, lease: timedelta,
                  account: str | None = None, ids: Collection[int] | None = None,
                  ignore_backoff: bool = False, after_id: int = 0) -> list[ClaimedMessage]:
        """Atomically move up to *limit* due messages, oldest first, to ``sending``.

        Only ids above *after_id*: a flush walks the queue once, so mail it just
        released (unreachable server) is not claimed again in the same run.

        Due: queued, or deferred with its back-off over (any deferred one when
        *ignore_backoff*).  Two concurrent callers never get the same message.
        On PostgreSQL the mail of dead claimers is taken back first (and may be
        claimed even below *after_id*: this flush never had it).
        """

    def count_due(self, now: datetime, *, account: str | None = None,
                  ids: Collection[int] | None = None, ignore_backoff: bool = False) -> int:
        """How many messages ``claim_due`` would hand out now (one COUNT; for progress)."""

    def renew_claims(self, ids: Collection[int], *, worker_id: str, until: datetime) -> int:
        """Extend *worker_id*'s leases on *ids* (a long upload); how many it still held."""

    def reclaim_expired(self, now: datetime) -> list[int]:
        """Queue again the messages whose lease ran out, or (PostgreSQL) whose claimer's
        session is gone: their flusher died; no back-off."""

    def claim_holders_alive(self, ids: Collection[int]) -> dict[int, bool]:
        """For the ``sending`` messages of *ids* whose holder the database can vouch
        for (PostgreSQL: its session), whether that holder is alive; messages it
        cannot tell about (SQLite: ask the host and pid) are left out."""

    def claim_holders(self) -> list[str]:
        """The distinct ``claimed_by`` of the messages being sent (``smtpq.queue.flush.holders``)."""

    def release_claims(self, holders: Collection[str], now: datetime, *,
                       ids: Collection[int] | None = None) -> list[int]:
        """Queue again, due at *now*, the messages being sent under a claim of one of
        *holders* (only *ids*, if given); their ids.  No back-off is consumed and no
        deferral counted.  For a flusher giving back the claims it has not started
        (interrupted), and for claims of flushers known to be dead."""

    def open_content(self, message_id: int) -> BinaryIO:
        """The stored mail as a binary stream, read chunk by chunk (flat memory)."""

    def record_recipient_results(self, message_id: int, results: Sequence[RecipientResult],
                                 now: datetime) -> None:
        """Store what the server said about individual recipients."""

    def add_attempt(self, message_id: int, attempt: AttemptRecord) -> None:
        """Append one attempt to the history and make it the message's last result."""

    def mark_sent(self, message_id: int, now: datetime, *,
                  results: Sequence[RecipientResult] = (),
                  attempt: AttemptRecord | None = None) -> bool:
        """The server accepted DATA: every undelivered recipient not named failed in
        *results* is sent, and so is the message.  Applies whatever the state (even
        after a lost claim): the mail did go out."""

    # ``worker_id`` on the transitions below: apply only while that worker still
    # holds the claim (after a takeover the new owner decides); the store also
    # remembers the claimer of each message it handed out.

    def apply(self, transitions: Sequence[Transition]) -> list[bool]:
        """Apply several verdicts in one transaction, one commit (the flush's group
        commit); for each, whether it applied, exactly as ``mark_sent``, ``defer``,
        ``release_unreachable``, ``fail`` or ``expire`` would have answered.  A message
        that no longer exists is skipped (False); each message appears at most once."""

    def try_apply(self, transitions: Sequence[Transition]) -> list[bool] | None:
        """``apply``, unless another writer holds the database right now: then None,
        at once, and nothing is done (on SQLite; a server database just applies)."""

    def defer(self, message_id: int, now: datetime, next_attempt: datetime, *,
              results: Sequence[RecipientResult] = (),
              attempt: AttemptRecord | None = None, worker_id: str | None = None) -> bool:
        """Temporary failure: ``deferred`` until *next_attempt*; one more deferral
        counts towards the back-off.  Recipients named sent in *results* are done."""

    def release_unreachable(self, message_id: int, now: datetime, *,
                            attempt: AttemptRecord | None = None, worker_id: str | None = None) -> bool:
        """The server could not be reached: back to ``queued`` as it was (no back-off
        consumed, no deferral counted)."""

    def fail(self, message_id: int, now: datetime, *,
             results: Sequence[RecipientResult] = (),
             attempt: AttemptRecord | None = None, worker_id: str | None = None) -> bool:
        """Permanent failure: ``failed``, and so is every undelivered recipient."""

    def expire(self, message_id: int, now: datetime, *,
               results: Sequence[RecipientResult] = (),
               attempt: AttemptRecord | None = None, worker_id: str | None = None) -> bool:
        """A claimed message failed temporarily past ``max_age``: ``expired``."""

    def expire_old(self, now: datetime, max_age: timedelta) -> list[int]:
        """Expire queued and deferred messages queued more than *max_age* ago; their ids."""

    # -- notices (smtpq.queue.notices.sweep) -----------------------------------------

    def due_notices(self, now: datetime, *, delayed_since: datetime | None = None
                    ) -> list[NoticeDue]:
        """Messages owed a notice, in id order: failed or expired ones not yet reported
        (``bounced`` unset), then, with *delayed_since*, queued or deferred ones queued
        at or before it and not yet warned about.  Never a notice itself."""

    def queue_notice(self, due: NoticeDue, now: datetime, notice: NewMessage | None = None,
                     content: Content = ()) -> int | None:
        """In one transaction: mark *due* reported (``bounced``/``warned`` = *now*) and
        queue *notice* (with *content*) as a notice of it; the notice's id, 0 when there
        is no notice to queue, None when *due* was no longer owed one (another flusher
        reported it, or its status changed): then nothing is done."""

    # -- management ------------------------------------------------------------

    def list_messages(self, statuses: Collection[MessageStatus] = PENDING, *,
                      after_id: int | None = None, limit: int | None = None
                      ) -> list[MessageSummary]:
        """Messages in *statuses*, in id order, from after *after_id* (keyset paging)."""

    def get_message(self, message_id: int) -> MessageDetail | None:
        """One message with its recipients and history; None when there is none."""

    def purge(self, *, ids: Collection[int] | None = None,
              statuses: Collection[MessageStatus] | None = None,
              older_than: datetime | None = None) -> list[int]:
        """Delete the messages matching all given filters (never one being sent); their ids."""

    def retry(self, now: datetime, *, ids: Collection[int] | None = None,
              all_failed: bool = False) -> list[int]:
        """Queue again, due now, back-off and ``max_age`` starting afresh, notice markers
        cleared (a new failure gets a new notice): the failed, expired, deferred or held
        messages among *ids*, or (*all_failed*) every failed and expired one; their ids."""

    def hold(self, now: datetime, ids: Collection[int]) -> list[int]:
        """Keep the queued or deferred messages among *ids* back (``held``: never
        claimed, expired or pruned) until released; their ids."""

    def release(self, now: datetime, ids: Collection[int]) -> list[int]:
        """Queue the held messages among *ids* again, due now, ``max_age`` starting
        afresh (the time held does not count against them); their ids."""

    def reroute(self, now: datetime, routes: Mapping[int, Route]) -> list[int]:
        """Give each message in *routes* that no flush has finished and none is
        sending (queued, deferred, held, failed, expired) its new account and stored
        options, and queue it again as ``retry`` does; their ids."""

    def prune_sent(self, now: datetime, keep_sent: timedelta) -> int:
        """Delete sent messages finished more than *keep_sent* ago; how many."""

    def reclaim_space(self) -> int:
        """Give the space of deleted mail back to the file system, in short steps that
        keep enqueues waiting briefly at most; the bytes given back (0 where the
        database does it by itself).  Best effort: what cannot be done now (busy,
        disk full) is left for the next call."""

    # -- health ------------------------------------------------------------------

    def begin_flush_run(self, host: str, pid: int, started: datetime) -> int:
        """Journal a flush that took the lock (``flush_runs``); its run id."""

    def finish_flush_run(self, run_id: int, end: FlushRunEnd) -> None:
        """Record how the run ended; keep only the newest ``KEEP_RUNS`` runs.  A run
        never finished (its flusher was killed) stays in the journal unfinished."""

    def health(self) -> QueueHealth:
        """Counts per status, the oldest waiting mail, the newest flush run, the last
        delivery and the messages being sent, read in one transaction."""
