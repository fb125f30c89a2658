"""``after_enqueue = "flush"`` (the default): mail goes out without anybody running a flush.

The enqueue that finds the flush lock free starts one detached flusher and
hands it the lock; an enqueue that finds it taken starts nothing, and the
running flusher looks for such mail after it lets the lock go.  So mail is
delivered with no explicit flush, a burst of enqueues starts only a handful
of flushers, and mail queued during a flush is not left for the next cron run.
"""

from __future__ import annotations

import threading
import time

from tests.support.queue_home import (  # noqa: F401 - fixtures
    QueueHome,
    SlowHandler,
    header_value,
    numbered_mail,
    queue_home,
    server_at,
    subjects_received,
    wait_until,
)

BURST = 200
#: "A handful": the burst must not start a flusher per mail.
MAX_FLUSHERS = 5


def mail(number: int) -> bytes:
    return numbered_mail("trigger", number)


subjects = subjects_received


def all_sent(home: QueueHome) -> bool:
    return set(home.statuses().values()) == {"sent"}


class FlusherCensus:
    """Every background flusher of *home*'s queue seen while it runs (polled via /proc)."""

    def __init__(self, home: QueueHome) -> None:
        self.home = home
        self.seen: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def __enter__(self) -> FlusherCensus:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _poll(self) -> None:
        # A flusher lives for hundreds of milliseconds (interpreter, imports,
        # SMTP session); polling every 50 ms cannot miss one.
        while not self._stop.is_set():
            self.seen |= self.home.flushers()
            time.sleep(0.05)


def test_mail_is_delivered_without_an_explicit_flush(queue_home: QueueHome, server_at) -> None:
    queue_home.configure(after_enqueue="flush")
    server = server_at()
    queue_home.account(server.port)

    queue_home.sendmail(mail(1))

    wait_until(lambda: server.messages, timeout=10, message="the background flush")
    assert subjects(server) == {"trigger 1": 1}
    wait_until(lambda: all_sent(queue_home), timeout=5, message="the message to be marked sent")
    wait_until(lambda: not queue_home.flushers(), timeout=5, message="the flusher to exit")


def test_a_burst_of_enqueues_starts_a_handful_of_flushers_and_delivers_everything(
        queue_home: QueueHome, server_at) -> None:
    queue_home.configure(after_enqueue="flush")
    server = server_at()
    queue_home.account(server.port)

    with FlusherCensus(queue_home) as census:
        queue_home.sendmail_many(mail(n) for n in range(BURST))
        wait_until(lambda: len(server.messages) >= BURST and all_sent(queue_home), timeout=30,
                   message="every mail of the burst")
        wait_until(lambda: not queue_home.flushers(), timeout=10, message="the flushers to exit")

    assert 1 <= len(census.seen) <= MAX_FLUSHERS, f"{len(census.seen)} flushers for {BURST} mails"
    received = subjects(server)
    assert len(received) == BURST and set(received.values()) == {1}


def test_mail_enqueued_during_a_flush_is_delivered_without_another_explicit_flush(
        queue_home: QueueHome, server_at) -> None:
    queue_home.configure(after_enqueue="flush")
    handler = SlowHandler(pause_at=1)
    server = server_at(handler=handler)
    queue_home.account(server.port)

    queue_home.sendmail(mail(1))  # starts a flusher, which the server holds in DATA
    assert handler.paused.wait(10), "the background flush never started"
    (flusher,) = queue_home.flushers()
    queue_home.sendmail(mail(2))  # the lock is taken: this enqueue starts no flusher
    assert queue_home.flushers() == {flusher}
    handler.release()

    wait_until(lambda: len(server.messages) == 2, timeout=10,
               message="the mail queued during the flush")
    assert subjects(server) == {"trigger 1": 1, "trigger 2": 1}
    wait_until(lambda: all_sent(queue_home), timeout=5, message="both to be marked sent")


def test_mail_enqueued_during_a_flush_of_one_message_is_handed_to_a_background_flush(
        queue_home: QueueHome, server_at) -> None:
    handler = SlowHandler(pause_at=1)
    server = server_at(handler=handler)
    queue_home.account(server.port)
    queue_home.sendmail(mail(1))  # after_enqueue = "none": just queued
    (first,) = queue_home.messages()
    queue_home.configure(after_enqueue="flush")

    flush_one = queue_home.start_flush("--id", str(first.id))
    assert handler.paused.wait(10), "the flush never started"
    queue_home.sendmail(mail(2))  # the lock is taken: this enqueue starts no flusher
    handler.release()
    assert flush_one.wait(10) == 0

    # `flush --id` takes only its message, and hands the new one on.
    wait_until(lambda: len(server.messages) == 2, timeout=10,
               message="the mail queued during `smtpq flush --id`")
    assert subjects(server) == {"trigger 1": 1, "trigger 2": 1}
