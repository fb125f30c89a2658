"""Disk space comes back: purging, pruning and sending shrink the queue file.

Through the real programs (``QueueHome``) and a real server on 127.0.0.1:

* a queue database is created with SQLite's incremental auto_vacuum, and an
  existing small one is switched on ``smtpq db upgrade`` (``smtpq db vacuum``
  does it for any size);
* with ``keep_sent_content = true``, a ~20 MB mail sent and then purged leaves
  a file of a few pages (sizes measured on disk: database and WAL);
* by default (``keep_sent_content = false``) the content goes as soon as the
  mail is sent, the envelope and history stay, and ``show --raw`` says why
  there is no mail to show.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest

from tests.support.queue_home import QueueHome, queue_home, server_at  # noqa: F401 - fixtures

MB = 1024 * 1024


def big_mail(size: int = 20 * MB) -> bytes:
    """A mail of about *size* bytes: 76-character lines that differ (nothing shared)."""
    lines = [f"{n:010d} ".encode() + os.urandom(32).hex().encode()[:64] + b"\n"
             for n in range(size // 76)]
    return b"From: me@example.org\nTo: you@example.net\nSubject: big\n\n" + b"".join(lines)


def on_disk(database: Path) -> int:
    """Bytes of the queue database and its WAL."""
    wal = Path(f"{database}-wal")
    return database.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


def auto_vacuum(database: Path) -> int:
    connection = sqlite3.connect(database)
    try:
        return connection.execute("PRAGMA auto_vacuum").fetchone()[0]
    finally:
        connection.close()


def configure(home: QueueHome, *lines: str) -> None:
    home.config.write_text("\n".join(['[queue]', 'after_enqueue = "none"', *lines]) + "\n")


def only_id(home: QueueHome) -> int:
    [message] = home.messages()
    return message.id


@pytest.fixture
def server(server_at, queue_home: QueueHome):
    started = server_at()
    queue_home.account(started.port)
    return started


def test_a_new_queue_gives_space_back_incrementally(queue_home: QueueHome, server):
    queue_home.sendmail(b"Subject: hi\n\nhello\n", "you@example.net")
    assert auto_vacuum(queue_home.database) == 2  # INCREMENTAL


def test_an_existing_queue_is_switched_by_db_upgrade_and_db_vacuum(queue_home: QueueHome,
                                                                     server):
    queue_home.sendmail(b"Subject: hi\n\nhello\n", "you@example.net")
    for command in (("db", "upgrade"), ("db", "vacuum")):
        connection = sqlite3.connect(queue_home.database, isolation_level=None)
        connection.execute("PRAGMA auto_vacuum = NONE")
        connection.execute("VACUUM")
        connection.close()
        assert auto_vacuum(queue_home.database) == 0
        result = queue_home.smtpq(*command)
        assert result.returncode == 0, result.stderr.decode()
        assert auto_vacuum(queue_home.database) == 2, command
    assert len(queue_home.messages()) == 1


@pytest.mark.timeout(300)
def test_a_big_mail_sent_and_purged_gives_its_space_back(queue_home: QueueHome, server):
    configure(queue_home, "keep_sent_content = true")
    mail = big_mail()
    queue_home.sendmail(mail, "-t")
    queue_home.flush()
    message_id = only_id(queue_home)
    assert queue_home.smtpq("show", str(message_id), "--raw").stdout.endswith(mail[-1000:])
    full = on_disk(queue_home.database)
    assert full > 20 * MB
    purged = queue_home.smtpq("purge", "--sent", "--yes")
    assert purged.returncode == 0, purged.stderr.decode()
    assert on_disk(queue_home.database) < 2 * MB, f"was {full}"


@pytest.mark.timeout(300)
def test_by_default_a_sent_mail_keeps_its_history_but_not_its_content(queue_home: QueueHome,
                                                                      server):
    mail = big_mail()
    queue_home.sendmail(mail, "-t")
    queue_home.flush()
    assert len(server.messages) == 1
    assert on_disk(queue_home.database) < 2 * MB
    message_id = only_id(queue_home)
    detail = json.loads(queue_home.smtpq("show", str(message_id), "--json").stdout)
    assert detail["status"] == "sent" and detail["size"] >= len(mail)
    assert detail["history"][-1]["exit_code"] == 0
    raw = queue_home.smtpq("show", str(message_id), "--raw")
    assert (raw.returncode, raw.stdout) == (66, b"")
    assert raw.stderr.decode() == (f"smtpq: message {message_id} was sent and its content is not "
                                   "kept (keep_sent_content = false): only its envelope and "
                                   "history are\n")


def test_keep_sent_content_must_be_a_boolean(queue_home: QueueHome):
    configure(queue_home, 'keep_sent_content = "yes"')
    result = queue_home.smtpq("flush")
    assert result.returncode == 78
    assert b"keep_sent_content: must be true or false" in result.stderr


# -- the store, on every engine -------------------------------------------------------


def test_a_store_that_keeps_no_sent_content_drops_it_in_the_verdict(db_url: str):
    import io

    from smtpq.queue.errors import ContentDropped
    from smtpq.queue.store.sql.store import open_store
    from tests.queue.helpers import LEASE, T0, mail, new_message

    with open_store(db_url, keep_sent_content=False) as store:
        sent, failed = (store.enqueue(new_message(), io.BytesIO(mail(5000)), now=T0)
                        for _ in range(2))
        store.claim_due(T0, limit=2, worker_id="w", lease=LEASE)
        assert store.apply([]) == []
        store.mark_sent(sent, T0)
        store.fail(failed, T0)
        with pytest.raises(ContentDropped):
            store.open_content(sent)
        with store.open_content(failed) as stream:  # kept: it may be retried
            assert stream.read() == mail(5000)
        assert store.reclaim_space() >= 0
        detail = store.get_message(sent)
        assert detail is not None and detail.status.value == "sent" and detail.size == 5000
