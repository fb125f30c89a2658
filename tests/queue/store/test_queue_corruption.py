"""Corruption is detected, reported and survivable (issue 14 point 3).

- a damaged page: ``smtpq db check`` names it and the message it hits;
  ``smtpq db recover`` salvages every other message into a fresh database,
  keeps the damaged file aside, and never reuses the lost message's id; the
  commands that meet the damage exit 74 and name ``smtpq db check``/``recover``;
- garbage in an uncheckpointed WAL: SQLite drops every transaction from the
  first bad frame on (its checksums see to that), ``PRAGMA integrity_check``
  still says ok, and smtpq reports the loss through the queue marker.

The truncated or vanished database is in ``test_queue_marker.py``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.queue_home import (
    QueueHome,
    closed_port,
    server_at,  # noqa: F401
)
from tests.support.queue_home import queue_home as a_queue_home  # noqa: F401

#: Content of message 3: large enough for overflow pages, each easy to find in the file.
DOOMED = b"DOOMED-CONTENT-" * 2000
PAGE = 4096


@pytest.fixture
def queue_home(a_queue_home: QueueHome) -> QueueHome:  # noqa: F811
    a_queue_home.account(closed_port())
    return a_queue_home


def mail(number: int, body: bytes = b"hello\n") -> bytes:
    return (f"From: me@example.org\nTo: you{number}@example.net\nSubject: mail {number}\n\n"
            .encode() + body)


def six_mails_with_a_damaged_page(home: QueueHome) -> None:
    for number in range(1, 7):
        home.sendmail(mail(number, DOOMED if number == 3 else b"hello\n"))
    checkpoint(home.database)
    data = home.database.read_bytes()
    # An overflow page of message 3's content: nothing but its text after the
    # 4-byte pointer to the next page.  Break that pointer: a damaged b-tree link.
    pattern = DOOMED[: PAGE * 2]
    page = next(start for start in range(PAGE, len(data), PAGE)
                if pattern.find(data[start + 4:start + PAGE]) >= 0)
    with open(home.database, "r+b") as database:
        database.seek(page)
        database.write(b"\xff\xff\xff\x00")
        database.flush()
        os.fsync(database.fileno())


def checkpoint(database: Path) -> None:
    connection = sqlite3.connect(database)
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    connection.close()


def without_sqlite3_shell(home: QueueHome, tmp_path: Path) -> None:
    empty = tmp_path / "bin-without-sqlite3"
    empty.mkdir()
    home.env["PATH"] = str(empty)


# -- a damaged page -------------------------------------------------------------------

def test_db_check_names_the_damaged_page_and_the_message_it_hits(queue_home) -> None:
    six_mails_with_a_damaged_page(queue_home)

    checked = queue_home.smtpq("db", "check")

    out = checked.stdout.decode()
    assert checked.returncode == 65, checked.stderr
    assert "database: integrity_check:" in out
    assert "message 3:" in out
    assert not any(f"message {n}:" in out for n in (1, 2, 4, 5, 6)), out
    assert "smtpq db recover" in checked.stderr.decode()


def test_db_check_says_ok_for_a_sound_queue(queue_home) -> None:
    for number in range(1, 4):
        queue_home.sendmail(mail(number))

    checked = queue_home.smtpq("db", "check")

    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert b"ok (3 messages checked)" in checked.stdout


@pytest.mark.parametrize("shell", ["as installed", "without the sqlite3 shell"])
def test_db_recover_salvages_every_intact_message_and_keeps_the_damaged_file(
        queue_home, tmp_path, shell) -> None:
    six_mails_with_a_damaged_page(queue_home)
    damaged = queue_home.database.read_bytes()
    if shell != "as installed":
        without_sqlite3_shell(queue_home, tmp_path)

    recovered = queue_home.smtpq("db", "recover")

    out = recovered.stdout.decode()
    assert recovered.returncode == 65, recovered.stderr  # one message could not be saved
    assert "message 3: lost: " in out
    # Debian's sqlite3 shell has no sqlite_dbpage, so its .recover fails: row by row then.
    assert "saved 5 messages" in out and "(using " in out
    if shell != "as installed":
        assert "(using row by row)" in out
    (kept,) = queue_home.database.parent.glob("queue.sqlite3.damaged-*[!l]")
    assert kept.read_bytes() == damaged and f"kept the damaged file as {kept}" in out
    assert oct(kept.stat().st_mode & 0o777) == "0o600"
    checked = queue_home.smtpq("db", "check")
    assert checked.returncode == 0, checked.stdout
    assert [m.id for m in queue_home.messages()] == [1, 2, 4, 5, 6]
    assert b"Subject: mail 4" in queue_home.stored(4)
    queue_home.sendmail(mail(7))
    assert [m.id for m in queue_home.messages()][-1] == 7  # id 3 is never used again


def test_db_recover_into_another_file_leaves_the_queue_alone(queue_home, tmp_path) -> None:
    six_mails_with_a_damaged_page(queue_home)
    damaged = queue_home.database.read_bytes()
    output = tmp_path / "salvage.sqlite3"

    recovered = queue_home.smtpq("db", "recover", "--output", str(output))

    assert recovered.returncode == 65, recovered.stderr
    assert queue_home.database.read_bytes() == damaged
    connection = sqlite3.connect(output)
    ids = [row[0] for row in connection.execute("SELECT id FROM messages ORDER BY id")]
    connection.close()
    assert ids == [1, 2, 4, 5, 6]


@contextlib.contextmanager
def held_open(database: Path) -> Iterator[None]:
    """Another process holding *database* open (a reader) until it is SIGKILLed at the end,
    as a crash would leave it."""
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sqlite3, sys, time\n"
         "c = sqlite3.connect(sys.argv[1]); c.execute('SELECT 1 FROM messages').fetchall()\n"
         "print('ready', flush=True); time.sleep(120)", str(database)],
        stdout=subprocess.PIPE)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"ready\n"
        yield
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()


def test_db_recover_refuses_a_queue_in_use(queue_home) -> None:
    queue_home.sendmail(mail(1))
    with held_open(queue_home.database):
        recovered = queue_home.smtpq("db", "recover")

    assert recovered.returncode == 75
    assert b"in use by another process" in recovered.stderr
    assert not list(queue_home.database.parent.glob("*.damaged-*"))


def test_commands_that_meet_the_damage_exit_74_and_say_what_to_do(queue_home, server_at) -> None:
    six_mails_with_a_damaged_page(queue_home)
    server = server_at()
    queue_home.account(server.port)

    flushed = queue_home.smtpq("flush")

    err = flushed.stderr.decode()
    assert flushed.returncode == 74, err
    assert "database disk image is malformed" in err
    assert "smtpq db check" in err and "smtpq db recover" in err, err
    assert set(queue_home.statuses().values()) == {"queued"}  # nothing lost, nothing half-done


# -- garbage in the WAL ---------------------------------------------------------------

WAL_HEADER, FRAME = 32, 24 + PAGE  # https://www.sqlite.org/fileformat2.html#walformat


def mails_left_in_the_wal(home: QueueHome) -> int:
    """Mail 1 checkpointed, mails 2..6 committed to the WAL only; the WAL's frame count.

    A process holding the queue open keeps every enqueue from being the last
    connection (which would checkpoint); it is then killed, as a crash would,
    leaving the WAL for the next opener to replay.
    """
    home.sendmail(mail(1))
    checkpoint(home.database)
    with held_open(home.database):
        for number in range(2, 7):
            home.sendmail(mail(number))
    wal = Path(f"{home.database}-wal")
    frames = (wal.stat().st_size - WAL_HEADER) // FRAME
    assert frames >= 5
    return frames


def scribble(path: Path, offset: int) -> None:
    with open(path, "r+b") as file:
        file.seek(offset)
        file.write(bytes(range(64)))


@pytest.mark.parametrize("where", ["at a frame boundary", "inside a frame"])
def test_garbage_in_the_wal_loses_the_commits_after_it_and_smtpq_says_so(
        queue_home, where) -> None:
    frames = mails_left_in_the_wal(queue_home)
    middle = WAL_HEADER + frames // 2 * FRAME
    scribble(Path(f"{queue_home.database}-wal"), middle + (0 if where.startswith("at") else 1000))

    listed = queue_home.smtpq("list")
    enqueued = queue_home.sendmail(mail(7), ok=False)
    checked = queue_home.smtpq("db", "check")

    for result in (listed, enqueued):
        err = result.stderr.decode()
        assert result.returncode == 74, err
        assert "but it held mail up to id 6" in err and "committed transactions were lost" in err
    out = checked.stdout.decode()
    assert checked.returncode == 65
    assert "integrity_check" not in out  # SQLite itself sees a sound (shorter) database
    assert "held mail up to id 6" in out
    connection = sqlite3.connect(queue_home.database)
    kept = [row[0] for row in connection.execute("SELECT id FROM messages ORDER BY id")]
    integrity = connection.execute("PRAGMA integrity_check").fetchall()
    connection.close()
    assert integrity == [("ok",)]
    assert kept[0] == 1 and kept == list(range(1, len(kept) + 1)) and len(kept) < 6


def test_after_a_wal_loss_recover_accepts_what_is_left_and_never_reuses_the_lost_ids(
        queue_home) -> None:
    frames = mails_left_in_the_wal(queue_home)
    scribble(Path(f"{queue_home.database}-wal"), WAL_HEADER + frames // 2 * FRAME)
    assert queue_home.smtpq("list").returncode == 74

    recovered = queue_home.smtpq("db", "recover")

    out = recovered.stdout.decode()
    assert recovered.returncode == 65, recovered.stderr
    assert "..6: lost: committed, then gone with the damage" in out
    assert queue_home.smtpq("db", "check").returncode == 0
    queue_home.sendmail(mail(7))
    assert queue_home.messages()[-1].id == 7
