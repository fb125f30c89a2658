"""A flusher killed mid-transaction loses nothing; at worst the mail in flight goes twice.

RFC 5321 §3.8 (and §6.1): a mail whose DATA got no reply may or may not have
been taken; the queue treats it like a 451 and sends it again.  So after
``SIGKILL`` in the middle of a flush, every mail is either sent or still in
the queue.  The next flush on the host (which holds the per-host flush lock,
so no other flusher of this queue is alive here) takes back the dead
flusher's claims at once, without waiting for their lease, and delivers the
rest; only the one mail in flight arrives twice.  Default settings throughout.
"""

from __future__ import annotations

import collections
import signal
from datetime import UTC, datetime, timedelta

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

COUNT = 12
IN_FLIGHT = 5  # the server holds the 5th mail's end-of-data reply


def mail(number: int) -> bytes:
    return numbered_mail("crash", number)


def test_a_flusher_killed_mid_transaction_leaves_every_mail_sent_or_queued(
        queue_home: QueueHome, server_at) -> None:
    handler = SlowHandler(pause_at=IN_FLIGHT)
    server = server_at(handler=handler)
    queue_home.account(server.port)
    queue_home.sendmail_many(mail(n) for n in range(COUNT))
    subject_of = {m.id: m.subject for m in queue_home.messages()}

    flusher = queue_home.start_flush()
    assert handler.paused.wait(20), "the flush never reached the held mail"
    # Verdicts are committed in groups, and at once when the server keeps the
    # flusher waiting: the mails before the held one are recorded while it waits.
    wait_until(lambda: list(queue_home.statuses().values()).count("sent") == IN_FLIGHT - 1,
               timeout=5, message="the verdicts before the held mail to be committed")
    flusher.send_signal(signal.SIGKILL)
    flusher.wait(10)
    handler.release()

    # Nothing lost: the mails before the held one are sent; the held one and the
    # rest of the batch are still claimed by the dead flusher.
    statuses = queue_home.statuses()
    assert sorted(statuses.values()) == ["sending"] * (COUNT - IN_FLIGHT + 1) + ["sent"] * (IN_FLIGHT - 1)
    in_flight = header_value(handler.messages[-1].data, "Subject")
    assert {subject_of[i] for i, s in statuses.items() if s == "sending"} >= {in_flight}

    # The claims' lease has minutes to run: the next flush takes them back anyway.
    assert min(queue_home.detail(i).claim_expires for i, s in statuses.items()
               if s == "sending") > datetime.now(UTC) + timedelta(minutes=1)
    queue_home.flush()

    assert set(queue_home.statuses().values()) == {"sent"}
    received = collections.Counter(header_value(m.data, "Subject") for m in server.messages)
    assert set(received) == set(subject_of.values())
    assert {subject for subject, times in received.items() if times > 1} == {in_flight}
    assert received[in_flight] == 2
