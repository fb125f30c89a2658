"""Verdicts are committed in groups: a kill between two commits costs duplicates, never mail.

RFC 5321 §3.8: a mail whose fate the queue does not know is sent again.  A
flusher killed with verdicts not yet committed leaves those mails in
``sending``; the next flush takes them back at once (the killed flusher is
gone, not merely slow) and sends exactly them again
(at most ``UNRECORDED_AT_MOST``), and every other mail exactly once.
"""

from __future__ import annotations

import collections
import os
import signal

from smtpq.queue.flush.group_commit import UNRECORDED_AT_MOST
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

COUNT = 60
KILL_AT = 40  # the server kills the flusher as this mail's data arrives


def mail(number: int) -> bytes:
    return numbered_mail("group", number)


class KillingHandler(SlowHandler):
    """Takes mail *at* in full, then SIGKILLs the flusher before answering it."""

    def __init__(self, at: int) -> None:
        super().__init__()
        self.at, self.victim = at, 0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        reply = await super().handle_DATA(server, session, envelope)
        if len(self.messages) == self.at and self.victim:
            os.kill(self.victim, signal.SIGKILL)
        return reply


def test_a_kill_between_commits_resends_exactly_the_unrecorded_mails(
        queue_home: QueueHome, server_at) -> None:
    handler = KillingHandler(KILL_AT)
    server = server_at(handler=handler)
    queue_home.account(server.port)
    queue_home.sendmail_many(mail(n) for n in range(COUNT))
    subject_of = {m.id: m.subject for m in queue_home.messages()}

    flusher = queue_home.start_flush()
    handler.victim = flusher.pid
    assert flusher.wait(30) == -signal.SIGKILL
    taken = [header_value(m.data, "Subject") for m in server.messages]
    assert len(taken) == KILL_AT

    # Nothing lost: every mail is sent, or still claimed by the dead flusher.
    at_kill = queue_home.statuses()
    assert set(at_kill.values()) <= {"sent", "sending"}
    unrecorded = set(taken) - {subject_of[i] for i, s in at_kill.items() if s == "sent"}
    assert 1 <= len(unrecorded) <= UNRECORDED_AT_MOST  # at least the one in flight

    queue_home.flush()  # no lease to wait for

    assert set(queue_home.statuses().values()) == {"sent"}
    received = collections.Counter(header_value(m.data, "Subject") for m in server.messages)
    assert set(received) == set(subject_of.values())
    assert {subject for subject, times in received.items() if times > 1} == unrecorded
    assert max(received.values()) == 2
