"""A mail enqueued while a flush runs is sent by that flush or the next: never left behind.

An enqueue that finds the flush lock taken starts no flusher: the running one
must find its mail.  It walks the queue by id, so a mail whose id falls below
the ids it has passed (``next_attempt`` stamped before its commit, so not yet
due when the flusher looked; on PostgreSQL an id committed after a higher
one) would wait for a flush started by hand.  Before it leaves, the flusher
counts the due mail once more from the start and walks again if any is left.

Proven under load: many callers enqueue while background flushers (and
explicit flushes) run; once every flusher is gone, nothing is ``queued`` and
every mail arrived exactly once.
"""

from __future__ import annotations

import collections
import threading
from concurrent.futures import ThreadPoolExecutor

from tests.support.queue_home import (  # noqa: F401 - fixtures
    QueueHome,
    header_value,
    numbered_mail,
    queue_home,
    server_at,
    subjects_received,
    wait_until,
)

CALLERS = 8
#: Mails per engine: enqueueing into PostgreSQL costs far more CPU per mail (for now).
MAILS = {"sqlite": 200, "postgresql": 30}


def mail(number: int) -> bytes:
    return numbered_mail("behind", number)


def test_no_mail_is_left_queued_with_no_flusher_coming(any_home: QueueHome, server_at) -> None:
    home = any_home
    count = MAILS["sqlite" if home.url.startswith("sqlite") else "postgresql"]
    server = server_at()
    home.account(server.port)
    home.sendmail(mail(-1))  # creates the queue alone (see ``QueueHome.sendmail_many``)
    home.configure(after_enqueue="flush")
    done = threading.Event()

    def explicit_flushes() -> None:  # as cron or a user would, alongside the enqueues
        while not done.is_set():
            home.smtpq("flush", "-q")

    flusher = threading.Thread(target=explicit_flushes)
    flusher.start()
    try:
        with ThreadPoolExecutor(CALLERS) as pool:
            list(pool.map(lambda n: home.sendmail(mail(n)), range(count)))
    finally:
        done.set()
        flusher.join()

    wait_until(lambda: not home.flushers() and home.flush_lock_free(), timeout=120,
               message="every flusher to finish")
    statuses = collections.Counter(home.statuses().values())
    assert statuses == {"sent": count + 1}, statuses
    received = collections.Counter(header_value(m.data, "Subject") for m in server.messages)
    assert received == {f"behind {n}": 1 for n in range(-1, count)}
