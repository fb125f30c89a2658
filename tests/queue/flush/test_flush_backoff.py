"""Back-off and expiry, as ``smtpq flush`` applies them to real deliveries.

A mail deferred by a 4xx waits for its ``next_attempt``: a plain flush before
then leaves it alone, ``--now`` ignores the wait, and a plain flush after it
retries.  A mail still undelivered ``max_age`` after it was queued becomes
``expired`` and is not tried again.  An unreachable server consumes no
back-off: the first flush after it comes back sends everything.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from tests.support.queue_home import (  # noqa: F401 - fixtures
    QueueHome,
    SlowHandler,
    closed_port,
    queue_home,
    server_at,
    wait_until,
)

MAIL = b"From: me@example.org\nTo: you@example.net\nSubject: back-off\n\nhello\n"
GREYLISTED = {"you@example.net": "451 4.7.1 greylisted, come back later"}


def deferred_once(home: QueueHome, server_at) -> tuple[int, SlowHandler]:  # type: ignore[no-untyped-def]
    """Queue MAIL and flush it into a greylisting server: deferred, the id and the handler."""
    handler = SlowHandler(rcpt_replies=dict(GREYLISTED))
    server = server_at(handler=handler)
    home.account(server.port)
    home.sendmail(MAIL)
    home.flush()
    (message,) = home.messages()
    assert message.status.value == "deferred"
    handler.rcpt_replies.clear()  # from now on the server would take it
    return message.id, handler


def test_a_deferred_mail_is_not_retried_before_its_next_attempt(queue_home, server_at) -> None:
    message_id, handler = deferred_once(queue_home, server_at)  # retry_first: 1m by default
    before = queue_home.detail(message_id)
    assert before.next_attempt > datetime.now(UTC)

    queue_home.flush()

    after = queue_home.detail(message_id)
    assert (after.status.value, after.attempts, after.next_attempt) == (
        "deferred", before.attempts, before.next_attempt)
    assert handler.messages == []


def test_now_ignores_the_back_off(queue_home, server_at) -> None:
    message_id, handler = deferred_once(queue_home, server_at)

    queue_home.flush("--now")

    assert queue_home.detail(message_id).status.value == "sent"
    assert len(handler.messages) == 1


def test_a_plain_flush_retries_once_the_back_off_is_over(queue_home, server_at) -> None:
    queue_home.configure(retry_first="1s", retry_max="1s")
    message_id, handler = deferred_once(queue_home, server_at)
    due = queue_home.detail(message_id).next_attempt
    # The first wait is retry_first with ±20 % jitter, and never more than retry_max.
    assert 0 < (due - datetime.now(UTC)).total_seconds() <= 1.0

    time.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()) + 0.05)
    queue_home.flush()

    assert queue_home.detail(message_id).status.value == "sent"
    assert len(handler.messages) == 1


def test_mail_older_than_max_age_expires_instead_of_being_sent(queue_home, server_at) -> None:
    queue_home.configure(max_age="1s")
    server = server_at()
    queue_home.account(server.port)
    queue_home.sendmail(MAIL)
    time.sleep(1.1)

    report = queue_home.flush("-v")

    assert "expired 1" in report.stderr.decode()
    (message,) = queue_home.messages()
    assert message.status.value == "expired"
    assert server.messages == []
    queue_home.flush("--now")  # not even --now revives it (smtpq retry does)
    assert server.messages == []


def test_a_deferred_mail_expires_at_max_age(queue_home, server_at) -> None:
    # 6 s: long enough that the first flush, even on a loaded machine, comes before it.
    queue_home.configure(max_age="6s", retry_first="1s", retry_max="1s")
    message_id, handler = deferred_once(queue_home, server_at)
    queued_at = queue_home.detail(message_id).queued_at
    # The back-off never runs past the deadline.
    assert queue_home.detail(message_id).next_attempt <= queued_at + timedelta(seconds=6)

    wait_until(lambda: datetime.now(UTC) > queued_at + timedelta(seconds=6.05), timeout=10,
               message="max_age to pass")
    queue_home.flush()

    assert queue_home.detail(message_id).status.value == "expired"
    assert handler.messages == []


def test_an_unreachable_server_consumes_no_back_off(queue_home, server_at) -> None:
    port = closed_port()
    queue_home.account(port)
    queue_home.sendmail(MAIL)
    for _ in range(3):
        queue_home.flush()
    (message,) = queue_home.messages()
    detail = queue_home.detail(message.id)
    assert (detail.status.value, detail.attempts, detail.deferrals) == ("queued", 3, 0)

    server = server_at(port)
    queue_home.flush()  # no --now: nothing waits for back-off

    assert queue_home.detail(message.id).status.value == "sent"
    assert len(server.messages) == 1

