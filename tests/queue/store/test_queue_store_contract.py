"""The queue store contract: what any ``QueueStore`` does, on every engine.

Written against ``smtpq.queue.store.interface.QueueStore`` only; the ``store`` fixture
supplies one per engine (SQLite, and PostgreSQL on a throw-away server).
"""

from __future__ import annotations

import io
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from smtpq.queue.errors import MessageNotFound, StoreError
from smtpq.queue.records import AttemptRecord, NoticeDue, RecipientResult, Route, Transition
from smtpq.queue.states import MessageStatus, NoticeKind
from smtpq.queue.store.interface import QueueStore
from smtpq.queue.store.rows import CHUNK_SIZE
from smtpq.sender.delivery.outcome import RecipientStatus
from tests.queue.helpers import LEASE, T0, mail, new_message

S = MessageStatus
RS = RecipientStatus
MINUTE = timedelta(minutes=1)


def enqueue(store: QueueStore, *recipients: str, body: bytes | None = None, at=T0, **fields) -> int:
    return store.enqueue(new_message(*recipients, **fields), io.BytesIO(body or mail()), now=at)


def claim(store: QueueStore, at=T0, limit: int = 10, **options) -> list[int]:
    claimed = store.claim_due(at, limit=limit, worker_id=options.pop("worker_id", "w1"),
                              lease=LEASE, **options)
    return [message.id for message in claimed]


def attempt(exit_code: int = 0, status: int | None = 250, at=T0) -> AttemptRecord:
    return AttemptRecord(started=at, finished=at + timedelta(seconds=1), exit_code=exit_code,
                         smtp_status=status, smtp_message=f"{status} ok" if status else None,
                         log_line=f"host=mx exitcode={exit_code}")


def status_of(store: QueueStore, message_id: int) -> MessageStatus:
    detail = store.get_message(message_id)
    assert detail is not None
    return detail.status


# -- enqueue and content --------------------------------------------------------


class TestEnqueue:
    def test_a_new_message_is_queued_and_due_with_everything_stored(self, store: QueueStore):
        message_id = enqueue(store, "a@x.test", "b@x.test", options=("-t", "--account=work"),
                             msgid="<1@x.test>", subject="Hello", config_file="/home/u/rc")
        detail = store.get_message(message_id)
        assert detail is not None
        assert (detail.status, detail.attempts, detail.deferrals) == (S.QUEUED, 0, 0)
        assert detail.recipients == ("a@x.test", "b@x.test")
        assert [r.status for r in detail.recipient_states] == [RS.PENDING, RS.PENDING]
        assert detail.options == ("-t", "--account=work")
        assert (detail.msgid, detail.subject, detail.config_file) == ("<1@x.test>", "Hello", "/home/u/rc")
        assert detail.created == detail.queued_at == T0
        assert detail.next_attempt is not None and detail.next_attempt <= T0
        assert detail.size == len(mail())
        assert detail.history == ()

    def test_times_come_back_as_aware_utc(self, store: QueueStore):
        detail = store.get_message(enqueue(store))
        assert detail is not None and detail.created.utcoffset() == timedelta(0)

    def test_the_null_sender_is_stored_as_empty(self, store: QueueStore):
        detail = store.get_message(enqueue(store, sender=""))
        assert detail is not None and detail.envelope_from == ""

    def test_content_spanning_several_chunks_reads_back_identically(self, store: QueueStore):
        body = mail(2 * CHUNK_SIZE + 12345, seed=7)
        message_id = enqueue(store, body=body)
        with store.open_content(message_id) as stream:
            assert stream.read() == body
        detail = store.get_message(message_id)
        assert detail is not None and detail.size == len(body)

    def test_content_may_be_given_as_pieces(self, store: QueueStore):
        pieces = [b"Subject: x\r\n", b"\r\n", b"body" * 1000]
        message_id = store.enqueue(new_message(), iter(pieces), now=T0)
        with store.open_content(message_id) as stream:
            assert stream.read() == b"".join(pieces)

    def test_an_empty_mail_is_stored_empty(self, store: QueueStore):
        message_id = store.enqueue(new_message(), io.BytesIO(b""), now=T0)
        with store.open_content(message_id) as stream:
            assert stream.read() == b""

    def test_ids_are_never_reused_after_a_purge(self, store: QueueStore):
        first, second = enqueue(store), enqueue(store)
        store.purge(ids=[second])
        assert enqueue(store) > second > first

    def test_unknown_ids_are_reported(self, store: QueueStore):
        assert store.get_message(999) is None
        with pytest.raises(MessageNotFound):
            store.open_content(999)
        with pytest.raises(MessageNotFound):
            store.add_attempt(999, attempt())


# -- claiming -------------------------------------------------------------------


class TestClaim:
    def test_claims_oldest_first_up_to_the_limit(self, store: QueueStore):
        ids = [enqueue(store) for _ in range(3)]
        assert claim(store, limit=2) == ids[:2]
        assert claim(store, limit=2) == ids[2:]
        assert claim(store) == []

    def test_a_claim_records_owner_and_lease(self, store: QueueStore):
        message_id = enqueue(store, "a@x.test")
        [claimed] = store.claim_due(T0, limit=1, worker_id="host:42", lease=LEASE)
        assert (claimed.claimed_by, claimed.claim_expires) == ("host:42", T0 + LEASE)
        assert [r.address for r in claimed.recipients] == ["a@x.test"]
        assert claimed.options == ("-t", "-i")
        assert status_of(store, message_id) == S.SENDING

    def test_deferred_messages_wait_for_their_back_off(self, store: QueueStore):
        message_id = enqueue(store)
        claim(store)
        store.defer(message_id, T0, T0 + 10 * MINUTE)
        assert claim(store, at=T0 + 9 * MINUTE) == []
        assert claim(store, at=T0 + 10 * MINUTE) == [message_id]

    def test_ignore_backoff_claims_deferred_messages_early(self, store: QueueStore):
        message_id = enqueue(store)
        claim(store)
        store.defer(message_id, T0, T0 + 10 * MINUTE)
        assert claim(store, ignore_backoff=True) == [message_id]

    def test_a_message_queued_in_the_future_is_not_due_yet(self, store: QueueStore):
        enqueue(store, at=T0 + MINUTE)
        assert claim(store) == []

    def test_claims_can_be_restricted_to_an_account_or_ids(self, store: QueueStore):
        work = enqueue(store, account="work")
        home = [enqueue(store, account="home") for _ in range(2)]
        assert claim(store, account="work") == [work]
        assert claim(store, ids=[home[1]]) == [home[1]]
        assert claim(store) == [home[0]]

    def test_only_queued_and_deferred_messages_are_claimed(self, store: QueueStore):
        sent, failed = enqueue(store), enqueue(store)
        claim(store)
        store.mark_sent(sent, T0)
        store.fail(failed, T0)
        assert claim(store, ignore_backoff=True, ids=[sent, failed]) == []

    def test_a_claim_lists_only_undelivered_recipients(self, store: QueueStore):
        message_id = enqueue(store, "a@x.test", "b@x.test", "c@x.test")
        claim(store)
        store.defer(message_id, T0, T0 + MINUTE, results=[
            RecipientResult(0, RS.SENT, 250, "250 ok"),
            RecipientResult(1, RS.FAILED, 550, "550 no such user"),
            RecipientResult(2, RS.DEFERRED, 451, "451 later"),
        ])
        [again] = store.claim_due(T0 + MINUTE, limit=1, worker_id="w", lease=LEASE)
        assert [(r.position, r.address) for r in again.recipients] == [(2, "c@x.test")]


class TestLeases:
    def test_an_expired_claim_goes_back_to_queued_without_back_off(self, store: QueueStore):
        message_id = enqueue(store)
        claim(store)
        assert store.reclaim_expired(T0 + LEASE - MINUTE) == []
        assert store.reclaim_expired(T0 + LEASE + MINUTE) == [message_id]
        detail = store.get_message(message_id)
        assert detail is not None
        assert (detail.status, detail.deferrals, detail.claimed_by) == (S.QUEUED, 0, None)
        assert claim(store, at=T0 + LEASE + MINUTE) == [message_id]

    def test_a_renewed_claim_is_not_reclaimed(self, store: QueueStore):
        message_id = enqueue(store)
        claim(store, worker_id="w1")
        assert store.renew_claims([message_id], worker_id="w1", until=T0 + 3 * LEASE) == 1
        assert store.renew_claims([message_id], worker_id="someone-else", until=T0) == 0
        assert store.reclaim_expired(T0 + 2 * LEASE) == []

    def test_a_live_flushers_claims_are_not_taken_by_another_claim_or_sweep(
            self, store: QueueStore, other_store: QueueStore):
        message_id = enqueue(store)
        assert claim(store, worker_id="w1") == [message_id]
        assert claim(other_store, at=T0 + MINUTE, worker_id="w2") == []
        assert other_store.reclaim_expired(T0 + LEASE - MINUTE) == []
        assert status_of(other_store, message_id) is S.SENDING
        assert other_store.claim_holders_alive([message_id]).get(message_id, True) is True

    def test_a_flusher_that_lost_its_claim_cannot_defer(self, store: QueueStore):
        message_id = enqueue(store)
        claim(store)
        store.reclaim_expired(T0 + 2 * LEASE)
        assert store.defer(message_id, T0, T0 + MINUTE) is False
        assert status_of(store, message_id) == S.QUEUED

    def test_a_flusher_that_lost_its_claim_still_marks_sent(self, store: QueueStore):
        message_id = enqueue(store)
        claim(store)
        store.reclaim_expired(T0 + 2 * LEASE)
        assert store.mark_sent(message_id, T0, attempt=attempt()) is True
        assert status_of(store, message_id) == S.SENT

    def test_a_flusher_whose_claim_was_taken_over_changes_nothing_but_history(
            self, store: QueueStore):
        message_id = enqueue(store, "a@x.test")
        claim(store, worker_id="w1")
        later = T0 + 2 * LEASE
        store.reclaim_expired(later)
        assert claim(store, at=later, worker_id="w2") == [message_id]
        # w1 comes back from a stall longer than its lease, with its verdicts.
        assert store.renew_claims([message_id], worker_id="w1", until=later + LEASE) == 0
        assert store.defer(message_id, later, later + MINUTE, worker_id="w1",
                           attempt=attempt(75, 451)) is False
        assert store.release_unreachable(message_id, later, worker_id="w1") is False
        assert store.fail(message_id, later, worker_id="w1",
                          results=[RecipientResult(0, RS.FAILED, 550, "550 no")]) is False
        assert store.expire(message_id, later, worker_id="w1") is False
        detail = store.get_message(message_id)
        assert detail is not None
        assert (detail.status, detail.claimed_by, detail.deferrals) == (S.SENDING, "w2", 0)
        assert detail.attempts == 1 and len(detail.history) == 1  # w1's attempt is kept
        # The new holder's own verdict applies.
        assert store.defer(message_id, later, later + MINUTE, worker_id="w2") is True
        assert status_of(store, message_id) == S.DEFERRED

    def test_a_store_refuses_a_verdict_on_mail_it_claimed_once_another_took_it_over(
            self, store: QueueStore, other_store: QueueStore):
        message_id = enqueue(store)
        claim(store, worker_id="w1")
        later = T0 + 2 * LEASE
        assert other_store.reclaim_expired(later) == [message_id]
        assert claim(other_store, at=later, worker_id="w2") == [message_id]
        # No worker_id given: the store knows it claimed this message for w1.
        assert store.defer(message_id, later, later + MINUTE) is False
        assert store.release_unreachable(message_id, later) is False
        assert other_store.fail(message_id, later) is True
        assert status_of(store, message_id) == S.FAILED

    def test_mail_sent_by_a_flusher_that_lost_its_claim_stays_sent(self, store: QueueStore):
        message_id = enqueue(store)
        claim(store, worker_id="w1")
        later = T0 + 2 * LEASE
        store.reclaim_expired(later)
        claim(store, at=later, worker_id="w2")
        assert store.mark_sent(message_id, later, attempt=attempt()) is True  # w1: it went out
        assert store.defer(message_id, later, later + MINUTE, worker_id="w2") is False
        assert store.fail(message_id, later) is False
        assert status_of(store, message_id) == S.SENT
        assert claim(store, at=later + LEASE, ignore_backoff=True) == []


class TestReleasingClaims:
    """``release_claims``: a stopped flusher gives back what it has not started, and the
    claims of a flusher known to be dead are taken back at once, without the lease."""

    def test_the_holders_of_claims_are_listed_once_each(self, store: QueueStore):
        for _ in range(3):
            enqueue(store)
        claim(store, limit=2, worker_id="h:1:9")
        claim(store, worker_id="h:2:9")
        assert store.claim_holders() == ["h:1:9", "h:2:9"]

    def test_released_claims_are_queued_due_at_once_with_no_back_off_consumed(
            self, store: QueueStore):
        first, second, other = enqueue(store), enqueue(store), enqueue(store)
        claim(store, limit=2, worker_id="w1")
        claim(store, worker_id="w2")
        later = T0 + MINUTE
        assert store.release_claims(["w1"], later) == [first, second]
        for message_id in (first, second):
            detail = store.get_message(message_id)
            assert detail is not None
            assert (detail.status, detail.next_attempt, detail.deferrals) == (S.QUEUED, later, 0)
            assert (detail.claimed_by, detail.claim_expires, detail.attempts) == (None, None, 0)
        assert status_of(store, other) == S.SENDING
        assert claim(store, at=later, worker_id="w3") == [first, second]

    def test_release_can_be_limited_to_some_ids(self, store: QueueStore):
        first, second = enqueue(store), enqueue(store)
        claim(store, worker_id="w1")
        assert store.release_claims(["w1"], T0, ids=[second]) == [second]
        assert (status_of(store, first), status_of(store, second)) == (S.SENDING, S.QUEUED)

    def test_a_released_message_keeps_its_deferral_count(self, store: QueueStore):
        message_id = enqueue(store)
        claim(store)
        store.defer(message_id, T0, T0 + MINUTE)
        claim(store, at=T0 + MINUTE, worker_id="w1")
        store.release_claims(["w1"], T0 + 2 * MINUTE)
        detail = store.get_message(message_id)
        assert detail is not None and (detail.status, detail.deferrals) == (S.QUEUED, 1)

    def test_only_messages_being_sent_are_released(self, store: QueueStore):
        message_id = enqueue(store)
        claim(store, worker_id="w1")
        store.mark_sent(message_id, T0, attempt=attempt())
        assert store.release_claims(["w1"], T0) == []
        assert store.release_claims([], T0) == []
        assert status_of(store, message_id) == S.SENT

    def test_the_releasing_worker_cannot_record_a_verdict_afterwards(self, store: QueueStore):
        message_id = enqueue(store)
        claim(store, worker_id="w1")
        store.release_claims(["w1"], T0)
        assert store.defer(message_id, T0, T0 + MINUTE, worker_id="w1") is False
        assert status_of(store, message_id) == S.QUEUED


# -- outcomes --------------------------------------------------------------------


class TestOutcomes:
    def test_mark_sent_finishes_message_and_recipients(self, store: QueueStore):
        message_id = enqueue(store, "a@x.test", "b@x.test")
        claim(store)
        assert store.mark_sent(message_id, T0 + MINUTE, attempt=attempt()) is True
        detail = store.get_message(message_id)
        assert detail is not None
        assert (detail.status, detail.finished, detail.next_attempt) == (S.SENT, T0 + MINUTE, None)
        assert (detail.claimed_by, detail.claim_expires) == (None, None)
        assert [r.status for r in detail.recipient_states] == [RS.SENT, RS.SENT]
        assert (detail.attempts, detail.last_exit_code, detail.last_smtp_status) == (1, 0, 250)

    def test_mark_sent_keeps_recipients_the_server_refused(self, store: QueueStore):
        message_id = enqueue(store, "a@x.test", "b@x.test")
        claim(store)
        store.mark_sent(message_id, T0, results=[RecipientResult(1, RS.FAILED, 550, "550 unknown")])
        detail = store.get_message(message_id)
        assert detail is not None
        states = [(r.status, r.smtp_status, r.smtp_message) for r in detail.recipient_states]
        assert states == [(RS.SENT, None, None), (RS.FAILED, 550, "550 unknown")]

    def test_defer_consumes_back_off(self, store: QueueStore):
        message_id = enqueue(store, "a@x.test")
        claim(store)
        assert store.defer(message_id, T0, T0 + MINUTE, attempt=attempt(69, 451)) is True
        detail = store.get_message(message_id)
        assert detail is not None
        assert (detail.status, detail.next_attempt, detail.deferrals) == (S.DEFERRED, T0 + MINUTE, 1)
        assert (detail.attempts, detail.last_exit_code, detail.last_smtp_status) == (1, 69, 451)
        assert detail.recipient_states[0].status == RS.DEFERRED

    def test_an_unreachable_server_consumes_no_back_off(self, store: QueueStore):
        message_id = enqueue(store)
        claim(store)
        assert store.release_unreachable(message_id, T0, attempt=attempt(75, None)) is True
        detail = store.get_message(message_id)
        assert detail is not None
        assert (detail.status, detail.deferrals, detail.attempts) == (S.QUEUED, 0, 1)
        assert claim(store) == [message_id]

    def test_fail_fails_every_undelivered_recipient(self, store: QueueStore):
        message_id = enqueue(store, "a@x.test", "b@x.test")
        claim(store)
        assert store.fail(message_id, T0, attempt=attempt(65, 554)) is True
        detail = store.get_message(message_id)
        assert detail is not None
        assert (detail.status, detail.finished) == (S.FAILED, T0)
        assert [r.status for r in detail.recipient_states] == [RS.FAILED, RS.FAILED]

    def test_expire_ends_a_claimed_message(self, store: QueueStore):
        message_id = enqueue(store)
        claim(store)
        assert store.expire(message_id, T0, attempt=attempt(69, 451)) is True
        assert status_of(store, message_id) == S.EXPIRED

    def test_transitions_need_a_claim(self, store: QueueStore):
        message_id = enqueue(store)
        assert store.fail(message_id, T0) is False
        assert store.release_unreachable(message_id, T0) is False
        assert status_of(store, message_id) == S.QUEUED

    def test_expire_old_expires_only_waiting_messages_past_max_age(self, store: QueueStore):
        old, sending = enqueue(store), enqueue(store)
        young = enqueue(store, at=T0 + timedelta(days=1))
        claim(store, ids=[sending])
        expired = store.expire_old(T0 + timedelta(days=5), timedelta(days=5))
        assert expired == [old]
        assert [status_of(store, i) for i in (old, sending, young)] == [S.EXPIRED, S.SENDING, S.QUEUED]

    def test_recipient_results_are_stored_as_reported(self, store: QueueStore):
        message_id = enqueue(store, "a@x.test")
        store.record_recipient_results(message_id, [RecipientResult(0, RS.DEFERRED, 452, "452 full")],
                                       T0 + MINUTE)
        detail = store.get_message(message_id)
        assert detail is not None
        [state] = detail.recipient_states
        assert (state.status, state.smtp_status, state.smtp_message, state.updated) == (
            RS.DEFERRED, 452, "452 full", T0 + MINUTE)


class TestGroupedVerdicts:
    """``apply``: several verdicts, one transaction, each as its single method would do."""

    def test_a_group_applies_each_verdict_as_its_own_method_would(self, store: QueueStore):
        sent, deferred, failed, gone = (enqueue(store, "a@x.test", "b@x.test") for _ in range(4))
        claim(store)
        later = T0 + MINUTE
        applied = store.apply([
            Transition(sent, S.SENT, later, (RecipientResult(1, RS.FAILED, 550, "550 no"),),
                       attempt(), worker_id="w1"),
            Transition(deferred, S.DEFERRED, later, (), attempt(75, 451), later + MINUTE, "w1"),
            Transition(failed, S.FAILED, later, (), attempt(69, 554), worker_id="w1"),
            Transition(gone, S.QUEUED, later, (), attempt(75, None), worker_id="someone-else"),
        ])
        assert applied == [True, True, True, False]
        details = {i: store.get_message(i) for i in (sent, deferred, failed, gone)}
        assert [d.status for d in details.values()] == [S.SENT, S.DEFERRED, S.FAILED, S.SENDING]
        assert [r.status for r in details[sent].recipient_states] == [RS.SENT, RS.FAILED]
        assert [r.status for r in details[deferred].recipient_states] == [RS.DEFERRED] * 2
        assert [r.status for r in details[failed].recipient_states] == [RS.FAILED] * 2
        assert (details[deferred].deferrals, details[deferred].next_attempt) == (1, later + MINUTE)
        assert [len(d.history) for d in details.values()] == [1, 1, 1, 1]  # kept, even refused
        assert [d.attempts for d in details.values()] == [1, 1, 1, 1]

    def test_a_message_gone_meanwhile_is_skipped(self, store: QueueStore):
        kept, gone = enqueue(store), enqueue(store)
        store.purge(ids=[gone])
        claim(store)
        applied = store.apply([Transition(gone, S.SENT, T0, (), attempt()),
                               Transition(kept, S.SENT, T0, (), attempt())])
        assert applied == [False, True]
        assert status_of(store, kept) == S.SENT

    def test_try_apply_applies_when_nobody_else_writes(self, store: QueueStore):
        message_id = enqueue(store)
        claim(store)
        assert store.try_apply([Transition(message_id, S.SENT, T0, (), attempt())]) == [True]
        assert status_of(store, message_id) == S.SENT


def test_try_apply_gives_up_at_once_while_another_writer_holds_sqlite(sqlite_url: str):
    import sqlite3
    import time

    from smtpq.queue.store.sql.store import open_store

    with open_store(sqlite_url) as store:
        message_id = enqueue(store)
        claim(store)
        path = sqlite_url.removeprefix("sqlite:///")
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # an enqueue, say, in the middle of its commit
        started = time.monotonic()
        assert store.try_apply([Transition(message_id, S.SENT, T0, (), attempt())]) is None
        assert time.monotonic() - started < 0.5
        other.execute("COMMIT")
        other.close()
        assert status_of(store, message_id) == S.SENDING  # nothing was done
        assert store.try_apply([Transition(message_id, S.SENT, T0, (), attempt())]) == [True]


class TestHistory:
    def test_every_attempt_is_kept_in_order(self, store: QueueStore):
        message_id = enqueue(store)
        store.add_attempt(message_id, attempt(75, None, at=T0))
        store.add_attempt(message_id, attempt(69, 451, at=T0 + MINUTE))
        store.add_attempt(message_id, attempt(0, 250, at=T0 + 2 * MINUTE))
        detail = store.get_message(message_id)
        assert detail is not None
        assert [(a.exit_code, a.smtp_status) for a in detail.history] == [(75, None), (69, 451), (0, 250)]
        assert detail.history[1] == attempt(69, 451, at=T0 + MINUTE)
        assert (detail.attempts, detail.last_exit_code) == (3, 0)


# -- management ------------------------------------------------------------------


class TestList:
    def test_lists_pending_messages_in_id_order_with_recipients(self, store: QueueStore):
        first = enqueue(store, "a@x.test", "b@x.test", subject="one")
        sent = enqueue(store)
        third = enqueue(store, "c@x.test")
        claim(store, ids=[sent])
        store.mark_sent(sent, T0)
        listed = store.list_messages()
        assert [m.id for m in listed] == [first, third]
        assert listed[0].recipients == ("a@x.test", "b@x.test")
        assert (listed[0].subject, listed[0].status, listed[0].account) == ("one", S.QUEUED, "default")

    def test_lists_by_status(self, store: QueueStore):
        queued, sent = enqueue(store), enqueue(store)
        claim(store, ids=[sent])
        store.mark_sent(sent, T0)
        assert [m.id for m in store.list_messages([S.SENT])] == [sent]
        assert [m.id for m in store.list_messages(list(S))] == [queued, sent]

    def test_pages_with_after_id_and_limit(self, store: QueueStore):
        ids = [enqueue(store) for _ in range(5)]
        page1 = store.list_messages(limit=2)
        page2 = store.list_messages(after_id=page1[-1].id, limit=2)
        page3 = store.list_messages(after_id=page2[-1].id, limit=2)
        assert [m.id for m in page1 + page2 + page3] == ids


class TestPurgeRetryPrune:
    def test_purge_by_id_deletes_message_recipients_content_and_history(self, store: QueueStore):
        keep, gone = enqueue(store), enqueue(store, body=mail(CHUNK_SIZE + 1))
        store.add_attempt(gone, attempt())
        assert store.purge(ids=[gone]) == [gone]
        assert store.get_message(gone) is None
        with pytest.raises(MessageNotFound):
            store.open_content(gone)
        assert store.get_message(keep) is not None

    def test_purge_by_status_and_age(self, store: QueueStore):
        old_failed = enqueue(store, at=T0 - timedelta(days=3))
        new_failed = enqueue(store, at=T0 - timedelta(hours=1))
        queued = enqueue(store, at=T0 - timedelta(days=3))
        claim(store, ids=[old_failed, new_failed])
        store.fail(old_failed, T0)
        store.fail(new_failed, T0)
        assert store.purge(statuses=[S.FAILED], older_than=T0 - timedelta(days=1)) == [old_failed]
        assert store.purge(statuses=list(S)) == [new_failed, queued]

    def test_purge_never_deletes_a_message_being_sent(self, store: QueueStore):
        message_id = enqueue(store)
        claim(store)
        assert store.purge(ids=[message_id]) == []
        assert store.purge(statuses=list(S)) == []

    def test_purge_needs_a_selection(self, store: QueueStore):
        with pytest.raises(ValueError):
            store.purge()

    def test_retry_requeues_failed_and_expired_messages_afresh(self, store: QueueStore):
        message_id = enqueue(store, "a@x.test", "b@x.test")
        claim(store)
        store.defer(message_id, T0, T0 + MINUTE, results=[RecipientResult(0, RS.SENT, 250, "ok")])
        claim(store, at=T0 + MINUTE)
        store.fail(message_id, T0 + MINUTE)
        later = T0 + timedelta(days=2)
        assert store.retry(later, ids=[message_id]) == [message_id]
        detail = store.get_message(message_id)
        assert detail is not None
        assert (detail.status, detail.deferrals, detail.queued_at, detail.finished) == (
            S.QUEUED, 0, later, None)
        assert [r.status for r in detail.recipient_states] == [RS.SENT, RS.PENDING]
        assert claim(store, at=later) == [message_id]

    def test_retry_all_failed_includes_expired_and_skips_the_rest(self, store: QueueStore):
        failed, expired, queued = enqueue(store), enqueue(store), enqueue(store, at=T0 + MINUTE)
        claim(store, ids=[failed])
        store.fail(failed, T0)
        store.expire_old(T0 + timedelta(days=5), timedelta(days=5, seconds=-30))
        assert status_of(store, expired) == S.EXPIRED
        assert store.retry(T0, all_failed=True) == [failed, expired]
        assert store.retry(T0, ids=[queued]) == []

    def test_prune_sent_deletes_only_sent_messages_past_keep_sent(self, store: QueueStore):
        old, new, failed = enqueue(store), enqueue(store), enqueue(store)
        claim(store)
        store.mark_sent(old, T0)
        store.mark_sent(new, T0 + timedelta(days=6))
        store.fail(failed, T0)
        assert store.prune_sent(T0 + timedelta(days=7, minutes=1), timedelta(days=7)) == 1
        assert store.get_message(old) is None
        assert store.get_message(new) is not None and store.get_message(failed) is not None


class TestNotices:
    """Which messages are owed a notice, and that each gets exactly one (smtpq.queue.notices.sweep)."""

    def failed(self, store: QueueStore, **fields) -> int:
        message_id = enqueue(store, **fields)
        claim(store, ids=[message_id])
        store.fail(message_id, T0, attempt=attempt(65, 554))
        return message_id

    def test_failed_and_expired_mail_is_owed_a_notice_in_id_order(self, store: QueueStore):
        failed, expired, queued = self.failed(store), enqueue(store), enqueue(store, at=T0 + MINUTE)
        store.expire_old(T0 + timedelta(days=5), timedelta(days=5, seconds=-30))
        assert store.due_notices(T0) == [NoticeDue(failed, NoticeKind.FAILED),
                                         NoticeDue(expired, NoticeKind.EXPIRED)]
        assert status_of(store, queued) == S.QUEUED

    def test_pending_mail_is_owed_a_warning_once_queued_long_enough(self, store: QueueStore):
        old, young = enqueue(store), enqueue(store, at=T0 + timedelta(hours=2))
        deferred = enqueue(store)
        claim(store, ids=[deferred])
        store.defer(deferred, T0, T0 + MINUTE)
        since = T0 + timedelta(hours=1)
        assert store.due_notices(since, delayed_since=since) == [
            NoticeDue(old, NoticeKind.DELAYED), NoticeDue(deferred, NoticeKind.DELAYED)]
        assert young not in [d.message_id for d in store.due_notices(since, delayed_since=since)]

    def test_queuing_a_notice_marks_the_original_in_the_same_transaction(self, store: QueueStore):
        original = self.failed(store)
        due = NoticeDue(original, NoticeKind.FAILED)
        notice = store.queue_notice(due, T0, new_message("me@example.org", sender=""),
                                    io.BytesIO(b"Subject: bounce\n\nreport\n"))
        assert notice is not None and notice > original
        assert status_of(store, notice) == S.QUEUED
        assert store.due_notices(T0) == []  # the original is reported, the notice is never owed
        assert store.queue_notice(due, T0, new_message(sender=""), io.BytesIO(b"x")) is None
        assert [m.id for m in store.list_messages()] == [original, notice]

    def test_two_flushers_racing_for_one_failure_queue_one_notice(
            self, store: QueueStore, other_store: QueueStore):
        original = self.failed(store)
        due = NoticeDue(original, NoticeKind.FAILED)
        start = threading.Barrier(2)

        def report(which: QueueStore) -> int | None:
            start.wait()
            return which.queue_notice(due, T0, new_message(sender=""), io.BytesIO(b"x"))

        with ThreadPoolExecutor(2) as pool:
            results = list(pool.map(report, [store, other_store]))
        assert len([r for r in results if r is not None]) == 1
        assert len(store.list_messages()) == 2

    def test_a_failure_reported_without_a_notice_mail_is_marked_all_the_same(
            self, store: QueueStore):
        original = self.failed(store, sender="")
        assert store.queue_notice(NoticeDue(original, NoticeKind.FAILED), T0) == 0
        assert store.due_notices(T0) == []

    def test_a_notice_that_fails_is_never_owed_a_notice(self, store: QueueStore):
        original = self.failed(store)
        notice = store.queue_notice(NoticeDue(original, NoticeKind.FAILED), T0,
                                    new_message(sender=""), io.BytesIO(b"x"))
        claim(store, ids=[notice])
        store.fail(notice, T0)
        since = T0 + timedelta(days=1)
        assert store.due_notices(since, delayed_since=since) == []

    def test_a_warning_is_given_once_and_only_while_the_mail_is_pending(self, store: QueueStore):
        message_id = enqueue(store)
        due = NoticeDue(message_id, NoticeKind.DELAYED)
        assert store.queue_notice(due, T0) == 0
        assert store.queue_notice(due, T0) is None
        assert store.due_notices(T0, delayed_since=T0) == []
        claim(store)
        store.fail(message_id, T0)  # the failure is reported on its own
        assert store.due_notices(T0) == [NoticeDue(message_id, NoticeKind.FAILED)]

    def test_retry_clears_the_markers_so_a_new_failure_gets_a_new_notice(self, store: QueueStore):
        message_id = enqueue(store)
        store.queue_notice(NoticeDue(message_id, NoticeKind.DELAYED), T0)
        claim(store)
        store.fail(message_id, T0)
        store.queue_notice(NoticeDue(message_id, NoticeKind.FAILED), T0)
        later = T0 + timedelta(days=1)
        store.retry(later, ids=[message_id])
        assert store.due_notices(later, delayed_since=later) == [
            NoticeDue(message_id, NoticeKind.DELAYED)]
        claim(store, at=later)
        store.fail(message_id, later)
        assert NoticeDue(message_id, NoticeKind.FAILED) in store.due_notices(later)


class TestQueueControl:
    def test_retry_by_id_makes_deferred_and_held_mail_due_now_afresh(self, store: QueueStore):
        deferred, held = enqueue(store), enqueue(store)
        claim(store, ids=[deferred])
        store.defer(deferred, T0, T0 + timedelta(hours=1))
        store.hold(T0, [held])
        later = T0 + MINUTE
        assert store.retry(later, ids=[deferred, held]) == [deferred, held]
        for message_id in (deferred, held):
            detail = store.get_message(message_id)
            assert detail is not None
            assert (detail.status, detail.deferrals, detail.queued_at) == (S.QUEUED, 0, later)
        assert claim(store, at=later) == [deferred, held]

    def test_retry_all_failed_leaves_deferred_and_held_mail_alone(self, store: QueueStore):
        deferred, held = enqueue(store), enqueue(store)
        claim(store, ids=[deferred])
        store.defer(deferred, T0, T0 + timedelta(hours=1))
        store.hold(T0, [held])
        assert store.retry(T0, all_failed=True) == []
        assert (status_of(store, deferred), status_of(store, held)) == (S.DEFERRED, S.HELD)

    def test_held_mail_is_never_claimed_expired_or_pruned(self, store: QueueStore):
        held = enqueue(store)
        assert store.hold(T0, [held]) == [held]
        far = T0 + timedelta(days=30)
        assert claim(store, at=far, ignore_backoff=True) == []
        assert store.count_due(far, ignore_backoff=True) == 0
        assert store.expire_old(far, timedelta(days=5)) == []
        assert store.prune_sent(far, timedelta(0)) == 0
        assert status_of(store, held) == S.HELD
        assert [m.id for m in store.list_messages()] == [held]

    def test_only_queued_and_deferred_mail_can_be_held(self, store: QueueStore):
        queued, deferred, sending, failed = (enqueue(store) for _ in range(4))
        claim(store, ids=[deferred, sending, failed])
        store.defer(deferred, T0, T0 + MINUTE)
        store.fail(failed, T0)
        assert store.hold(T0, [queued, deferred, sending, failed, 999]) == [queued, deferred]
        assert status_of(store, sending) == S.SENDING

    def test_release_queues_held_mail_due_now_with_max_age_afresh(self, store: QueueStore):
        held, queued = enqueue(store), enqueue(store)
        claim(store, ids=[held])
        store.defer(held, T0, T0 + timedelta(hours=1))
        store.hold(T0, [held])
        later = T0 + timedelta(days=10)
        assert store.release(later, [held, queued]) == [held]
        detail = store.get_message(held)
        assert detail is not None
        assert (detail.status, detail.queued_at, detail.deferrals) == (S.QUEUED, later, 1)
        assert store.expire_old(later, timedelta(days=5)) == [queued]
        assert claim(store, at=later) == [held]

    def test_reroute_changes_account_and_options_and_makes_mail_due(self, store: QueueStore):
        deferred = enqueue(store, "a@x.test", account="old", options=("--account=old", "--port=25"))
        queued = enqueue(store, account="old")
        sending = enqueue(store, account="old")
        claim(store, ids=[deferred, sending])
        store.defer(deferred, T0, T0 + timedelta(hours=1))
        routes = {message_id: Route("new", ("--account=new",))
                  for message_id in (deferred, queued, sending)}
        assert store.reroute(T0 + MINUTE, routes) == [deferred, queued]
        detail = store.get_message(deferred)
        assert detail is not None
        assert (detail.status, detail.account, detail.options, detail.deferrals) == (
            S.QUEUED, "new", ("--account=new",), 0)
        sending_detail = store.get_message(sending)
        assert sending_detail is not None and sending_detail.account == "old"
        assert claim(store, at=T0 + MINUTE, account="new") == [deferred, queued]


class TestStreaming:
    def test_a_mail_purged_while_read_raises_instead_of_ending_early(self, store: QueueStore):
        message_id = enqueue(store, body=mail(3 * CHUNK_SIZE))
        stream = store.open_content(message_id)
        assert len(stream.read(10)) == 10
        store.purge(ids=[message_id])
        with pytest.raises(StoreError):
            stream.read()
