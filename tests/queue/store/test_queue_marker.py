"""The queue marker: a queue that held mail and then vanished, shrank or lost commits is refused.

Issue 14 point 3: a database truncated to 0 bytes used to be recreated empty
(``list`` said empty, the next enqueue exited 0).  Now every entry point —
``smtpq-sendmail`` enqueue, ``smtpq flush``, ``list``, ``show`` — exits 74
(EX_IOERR) naming the file and what to do, and writes nothing.  WAL damage is
specified in ``tests/queue/store/test_queue_corruption.py``.
"""

from __future__ import annotations

import os
import stat

import pytest

from smtpq.queue.store.marker import marker_path, read_high
from tests.support.queue_home import QueueHome, closed_port
from tests.support.queue_home import queue_home as a_queue_home  # noqa: F401

MAIL = b"From: me@example.org\nTo: you@example.net\nSubject: kept\n\nhello\n"


@pytest.fixture
def queue_home(a_queue_home: QueueHome) -> QueueHome:  # noqa: F811
    """A queue home whose account points at a closed port (nothing is sent here)."""
    a_queue_home.account(closed_port())
    return a_queue_home


def three_mails(home: QueueHome) -> None:
    for _ in range(3):
        home.sendmail(MAIL)
    assert [m.id for m in home.messages()] == [1, 2, 3]


def refused_everywhere(home: QueueHome) -> None:
    results = {
        "enqueue": home.sendmail(MAIL, ok=False),
        "flush": home.smtpq("flush"),
        "list": home.smtpq("list"),
        "show": home.smtpq("show", "1"),
    }
    for name, result in results.items():
        err = result.stderr.decode()
        assert result.returncode == 74, (name, err)
        assert str(home.database) in err and "held mail up to id 3" in err, (name, err)
        assert "smtpq db recover" in err and marker_path(str(home.database)) in err, name


def test_the_first_enqueue_leaves_a_private_marker_with_the_highest_id(queue_home) -> None:
    three_mails(queue_home)
    marker = marker_path(str(queue_home.database))
    assert stat.S_IMODE(os.lstat(marker).st_mode) == 0o600
    assert read_high(str(queue_home.database)) == 3


def test_a_database_truncated_to_nothing_is_refused_not_recreated(queue_home) -> None:
    three_mails(queue_home)
    os.truncate(queue_home.database, 0)
    for suffix in ("-wal", "-shm"):  # as after a checkpoint: nothing else to read
        if os.path.exists(f"{queue_home.database}{suffix}"):
            os.unlink(f"{queue_home.database}{suffix}")

    refused_everywhere(queue_home)
    assert queue_home.database.stat().st_size == 0  # nothing written over the evidence


def test_a_database_that_disappeared_is_refused_not_recreated(queue_home) -> None:
    three_mails(queue_home)
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(f"{queue_home.database}{suffix}"):
            os.unlink(f"{queue_home.database}{suffix}")

    refused_everywhere(queue_home)
    assert not queue_home.database.exists()


def test_removing_the_marker_accepts_the_database_as_it_is(queue_home) -> None:
    three_mails(queue_home)
    os.truncate(queue_home.database, 0)
    os.unlink(marker_path(str(queue_home.database)))

    listed = queue_home.smtpq("list")
    queue_home.sendmail(MAIL)

    assert listed.returncode == 0, listed.stderr
    assert len(queue_home.messages()) == 1


def test_a_queue_that_never_held_mail_needs_no_marker(queue_home) -> None:
    # A first enqueue killed between creating the file and its first COMMIT
    # leaves an empty file: that is a new queue, not a lost one.
    queue_home.database.parent.mkdir(parents=True)
    queue_home.database.touch(mode=0o600)

    queue_home.sendmail(MAIL)

    assert [m.id for m in queue_home.messages()] == [1]


def test_a_queue_from_before_the_marker_gets_one_on_its_next_enqueue(queue_home) -> None:
    three_mails(queue_home)
    os.unlink(marker_path(str(queue_home.database)))

    queue_home.sendmail(MAIL)

    assert read_high(str(queue_home.database)) == 4


def test_a_symlink_planted_as_the_marker_is_refused_and_not_followed(queue_home, tmp_path) -> None:
    queue_home.sendmail(MAIL)
    target = tmp_path / "elsewhere"
    target.write_bytes(b"untouched")
    marker = marker_path(str(queue_home.database))
    os.unlink(marker)
    os.symlink(target, marker)

    # The marker is a queue file like the WAL and the lock (private_files): owned, or refused.
    refused = queue_home.sendmail(MAIL, ok=False)

    assert refused.returncode == 73
    assert f"{marker}: a symbolic link" in refused.stderr.decode()
    assert target.read_bytes() == b"untouched"
    os.unlink(marker)
    assert len(queue_home.messages()) == 1


def test_db_recover_accepts_an_emptied_queue_and_never_reuses_its_ids(queue_home) -> None:
    three_mails(queue_home)
    os.truncate(queue_home.database, 0)
    for suffix in ("-wal", "-shm"):
        if os.path.exists(f"{queue_home.database}{suffix}"):
            os.unlink(f"{queue_home.database}{suffix}")

    recovered = queue_home.smtpq("db", "recover")

    assert recovered.returncode == 65, recovered.stderr
    assert b"messages 1..3: lost: committed, then gone with the damage" in recovered.stdout
    assert queue_home.smtpq("list").returncode == 0
    queue_home.sendmail(MAIL)
    assert [m.id for m in queue_home.messages()] == [4]


def test_a_schema_upgrade_that_copies_the_messages_table_keeps_the_id_counter(
        queue_home) -> None:
    from smtpq.queue.store.sql.migrate import downgrade, upgrade

    three_mails(queue_home)
    with queue_home.store() as store:
        assert store.purge(ids=[3]) == [3]
    # 0002 changes a CHECK constraint: SQLite copies `messages` both ways.
    downgrade(queue_home.url, "0001")
    upgrade(queue_home.url)

    listed = queue_home.smtpq("list")
    queue_home.sendmail(MAIL)

    assert listed.returncode == 0, listed.stderr  # no false alarm from the marker
    assert [m.id for m in queue_home.messages()] == [1, 2, 4]  # id 3 is not reused
