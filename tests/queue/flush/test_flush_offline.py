"""Offline, then online: mail queued while the server is down goes out once it is up.

The issue's scenario, with the real programs: 200 mails enqueued by
``smtpq-sendmail -t`` while nothing listens on the account's port; ``smtpq
flush`` says it is offline and consumes no back-off; the server comes up on
that port; the next plain ``smtpq flush`` (no ``--now``) delivers every mail
exactly once, byte for byte as it was given, apart from the headers the
account adds at enqueue time (Date, Message-ID) and the Bcc it removes.
"""

from __future__ import annotations

import collections
import time
from datetime import UTC, datetime

from tests.support.queue_home import (  # noqa: F401 - fixtures
    QueueHome,
    closed_port,
    crlf_undone,
    header_time,
    header_value,
    queue_home,
    sample_mail,
    server_at,
    without_headers,
)

COUNT = 200


def test_mail_queued_while_offline_is_delivered_once_and_intact_when_online(
        queue_home: QueueHome, server_at) -> None:
    port = closed_port()
    queue_home.account(port)
    mails = {f"mail {n}": sample_mail(n, bcc=n % 2 == 0) for n in range(COUNT)}

    enqueue_started = time.time()
    queue_home.sendmail_many(mails.values())
    enqueue_finished = time.time()
    queued = queue_home.messages()
    assert len(queued) == COUNT
    assert {m.status.value for m in queued} == {"queued"}

    # Offline: one line saying so, everything stays queued, no back-off consumed.
    offline = queue_home.flush("--verbose")  # no terminal here: -v says it
    assert f"offline: server not reachable, {COUNT} message(s) stay queued" in offline.stderr.decode()
    with queue_home.store() as store:
        details = [store.get_message(m.id) for m in queued]
    now = datetime.now(UTC)
    for detail in details:
        assert detail.status.value == "queued"
        assert detail.deferrals == 0
        assert detail.next_attempt <= now  # due again at once
        assert [h.exit_code for h in detail.history] == [75]  # EX_TEMPFAIL: connection refused
        assert "exitcode=EX_TEMPFAIL" in detail.history[0].log_line
    stored_before = {m.id: queue_home.stored(m.id) for m in queued}

    # Online: a plain flush (back-off untouched, so everything is due) sends everything.
    server = server_at(port)
    online = queue_home.flush()
    assert online.stderr == b""
    assert {m.status.value for m in queue_home.messages()} == {"sent"}

    received = collections.Counter(header_value(r.data, "Message-ID") for r in server.messages)
    assert len(server.messages) == COUNT
    assert set(received.values()) == {1}, "a mail was delivered twice"
    assert set(received) == {m.msgid for m in queued}

    by_subject = {header_value(r.data, "Subject"): r for r in server.messages}
    by_id = {m.id: m for m in queued}
    for message_id, stored in stored_before.items():
        summary = by_id[message_id]
        original = mails[summary.subject]
        delivered = by_subject[summary.subject]
        data = crlf_undone(delivered.data)
        # The flush sent exactly what was stored at enqueue time (no new Date or Message-ID) …
        assert data == _line_ended(crlf_undone(stored))
        # … which is the input with Date and Message-ID added and Bcc removed, nothing else.
        expected = _line_ended(without_headers(original, "Bcc"))
        assert without_headers(data, "Date", "Message-ID") == expected
        assert header_value(data, "Message-ID") == summary.msgid
        assert enqueue_started - 1 <= header_time(data) <= enqueue_finished + 1
        # Bcc recipients are still envelope recipients.
        number = int(summary.subject.split()[1])
        expected_rcpts = [f"to{number}@example.net"]
        if number % 2 == 0:
            expected_rcpts.append(f"hidden{number}@example.net")
        assert delivered.rcpt_tos == expected_rcpts
        assert delivered.mail_from == "me@example.org"


def _line_ended(mail: bytes) -> bytes:
    """*mail* as it goes on the wire: an unterminated last line is ended (RFC 5321 §4.1.1.4)."""
    return mail if mail.endswith(b"\n") else mail + b"\n"
