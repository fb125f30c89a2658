"""Never silent: what a background flusher says is kept in the flush log beside the lock.

Real ``smtpq-sendmail`` enqueues with ``after_enqueue = "flush"`` start the
detached flusher against a real aiosmtpd server (or a port nobody listens on),
and the test waits for that flusher to end.  A run that has something to say
(mail that failed or stayed queued, a ``notify_command`` that failed, an error
at the boundary) appends a header naming the run and its lines to
``queue.sqlite3.flush.log`` (0600); a run that has nothing to say writes
nothing; a log over 1 MiB is set aside as ``….flush.log.1`` first.  A planted
link or another user's file at the log's path is never written through: the
mail still goes out, and the flush journal (``smtpq status``) says why there is
no log.  Foreground flushes print as before and write no log.  The last tests
run in process: the log's path, and reading its last line.
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from smtpq.queue.flush.flush_log import ROTATE_AT, TAIL, log_path, read_tail
from smtpq.queue.flush.lock import lock_path, try_lock
from tests.support.aiosmtpd_server import RecordingHandler
from tests.support.programs import needs
from tests.support.queue_home import (  # noqa: F401 - fixtures
    QueueHome,
    closed_port,
    numbered_mail,
    queue_home,
    server_at,
    wait_until,
)

HEADER = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d smtpq flush \(background, pid (\d+)\):")
INTRUDER = 4243


def log_of(home: QueueHome) -> Path:
    return Path(f"{home.database}.flush.log")


def enqueue_and_wait(home: QueueHome, mail: bytes, *args: str) -> None:
    """Enqueue *mail* (starting a background flusher) and wait until that flusher is gone."""
    home.sendmail(mail, *args)
    wait_for_background_flush(home)


def wait_for_background_flush(home: QueueHome) -> None:
    # The enqueue hands the lock to the flusher it starts, which lets it go just
    # before it ends: once the lock is free and no flusher is left, it has ended.
    wait_until(lambda: home.flush_lock_free() and not home.flushers(), timeout=60,
               message="the background flusher to end")


def last_note(home: QueueHome) -> str:
    facts = json.loads(home.smtpq("status", "--json").stdout)
    return facts["last_flush"]["note"] or ""


# -- what is written ----------------------------------------------------------------


def test_an_offline_background_flush_writes_a_header_and_its_line_to_a_private_log(
        queue_home: QueueHome) -> None:
    queue_home.configure(after_enqueue="flush")
    queue_home.account(closed_port())

    enqueue_and_wait(queue_home, numbered_mail("log", 1))

    log = log_of(queue_home)
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    header, *lines = log.read_text().splitlines()
    assert HEADER.fullmatch(header), header
    assert len(lines) == 1
    assert lines[0].startswith("offline: server not reachable, 1 message(s) stay queued: "
                               "cannot connect to 127.0.0.1")


def test_a_failing_notify_command_and_the_failure_it_was_about_are_in_the_log(
        queue_home: QueueHome, server_at) -> None:
    server = server_at(handler=RecordingHandler(data_reply="550 5.7.1 refused"))
    queue_home.configure(after_enqueue="flush", notify_command="echo no display; exit 3")
    queue_home.account(server.port)

    enqueue_and_wait(queue_home, numbered_mail("log", 1))

    header, *lines = log_of(queue_home).read_text().splitlines()
    assert int(HEADER.fullmatch(header).group(1)) > 0  # type: ignore[union-attr]
    assert lines == [
        "smtpq: notify_command for message 1 failed (exit status 3): no display",
        "failed 1 <you@example.net>: 550 5.7.1 refused",
        "1 message(s) failed for good (see: smtpq list --status failed, smtpq retry ID)",
    ]


def test_each_run_that_says_something_appends_its_own_header(queue_home: QueueHome) -> None:
    queue_home.configure(after_enqueue="flush")
    queue_home.account(closed_port())

    enqueue_and_wait(queue_home, numbered_mail("log", 1))
    enqueue_and_wait(queue_home, numbered_mail("log", 2))

    text = log_of(queue_home).read_text()
    pids = [int(match.group(1)) for match in HEADER.finditer(text)]
    assert len(pids) == 2 and pids[0] != pids[1]
    assert "stay queued" in text.splitlines()[-1]
    assert "2 message(s) stay queued" in text.splitlines()[-1]


def test_a_background_flush_that_delivers_everything_writes_nothing(
        queue_home: QueueHome, server_at) -> None:
    server = server_at()
    queue_home.configure(after_enqueue="flush")
    queue_home.account(server.port)

    enqueue_and_wait(queue_home, numbered_mail("log", 1))

    assert len(server.messages) == 1
    log = log_of(queue_home)
    assert not log.exists() or log.read_bytes() == b""
    assert json.loads(queue_home.smtpq("status", "--json").stdout)["flush_log"] is None
    assert "flush log" not in queue_home.smtpq("status").stdout.decode()


def test_a_foreground_flush_prints_as_before_and_writes_no_log(queue_home: QueueHome) -> None:
    queue_home.account(closed_port())
    queue_home.sendmail(numbered_mail("log", 1))  # after_enqueue = "none"

    result = queue_home.smtpq("flush")

    assert result.returncode == 75
    assert result.stderr.decode().startswith("offline: server not reachable")
    assert not log_of(queue_home).exists()


@pytest.mark.parametrize(("problem", "said"), [
    ("config", "config.toml"),  # the log found beside the lock handed over: no settings to name it
    ("database", "the queue database is damaged"),
])
def test_the_error_that_ends_a_background_flush_is_in_the_log(queue_home: QueueHome,
                                                               problem: str, said: str) -> None:
    queue_home.account(closed_port())
    queue_home.sendmail(numbered_mail("log", 1))  # the queue exists
    if problem == "config":
        queue_home.config.write_text('[queue]\nretry_first = "soon"\n')
    else:
        queue_home.database.write_bytes(b"not a database, " * 4096)

    status = run_background_flusher(queue_home)

    assert status != 0
    header, *lines = log_of(queue_home).read_text().splitlines()
    assert HEADER.fullmatch(header), header
    assert lines and lines[-1].startswith("smtpq: "), lines
    assert said in lines[-1]


def run_background_flusher(home: QueueHome) -> int:
    """``smtpq flush --background --lock-fd N`` as an enqueue starts it: holding the lock
    it was handed, stdio on /dev/null; its exit status."""
    fd = try_lock(lock_path(home.url, home.env))
    assert fd is not None
    try:
        os.set_inheritable(fd, True)
        return subprocess.run(
            [sys.executable, "-m", "smtpq", "flush", "--background", "--lock-fd", str(fd)],
            env=home.env, cwd=home.root, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, pass_fds=(fd,), timeout=60, check=False).returncode
    finally:
        os.close(fd)


# -- rotation -------------------------------------------------------------------------


def test_a_log_over_one_mebibyte_is_set_aside_before_the_run_writes(
        queue_home: QueueHome) -> None:
    queue_home.configure(after_enqueue="flush")
    queue_home.account(closed_port())
    queue_home.sendmail(numbered_mail("log", 1))  # the queue directory exists; a flusher runs
    wait_for_background_flush(queue_home)
    log = log_of(queue_home)
    old = b"an old line\n" * (ROTATE_AT // 12 + 1)
    log.write_bytes(old)
    older = Path(f"{log}.1")
    older.write_bytes(b"the run before\n")
    older.chmod(0o600)

    enqueue_and_wait(queue_home, numbered_mail("log", 2))

    assert older.read_bytes() == old
    header, *lines = log.read_text().splitlines()
    assert HEADER.fullmatch(header) and "2 message(s) stay queued" in lines[0]
    assert stat.S_IMODE(log.stat().st_mode) == 0o600


def test_a_log_under_the_limit_is_appended_to(queue_home: QueueHome) -> None:
    queue_home.configure(after_enqueue="flush")
    queue_home.account(closed_port())
    enqueue_and_wait(queue_home, numbered_mail("log", 1))
    log = log_of(queue_home)
    before = log.read_bytes()

    enqueue_and_wait(queue_home, numbered_mail("log", 2))

    assert log.read_bytes().startswith(before)
    assert not Path(f"{log}.1").exists()


# -- owned, or not written ------------------------------------------------------------


def test_a_link_planted_at_the_log_is_not_followed_and_the_mail_still_goes(
        queue_home: QueueHome, server_at, tmp_path: Path) -> None:
    server = server_at(handler=RecordingHandler(rcpt_replies={"bad@example.net": "550 5.1.1 no"}))
    queue_home.account(server.port)
    queue_home.sendmail(numbered_mail("log", 0))  # the queue directory exists
    queue_home.flush()
    target = tmp_path / "bait"
    target.write_bytes(b"someone else's file\n")
    log = log_of(queue_home)
    log.symlink_to(target)
    if os.geteuid() == 0:
        os.lchown(log, INTRUDER, INTRUDER)  # as another user would plant it
    queue_home.configure(after_enqueue="flush")

    # One recipient takes it, the other refuses it: the run has something to say.
    enqueue_and_wait(queue_home, numbered_mail("log", 1), "you@example.net", "bad@example.net")

    assert target.read_bytes() == b"someone else's file\n"
    assert log.is_symlink()
    assert [m.rcpt_tos for m in server.messages[1:]] == [["you@example.net"]]
    note = last_note(queue_home)
    assert f"no flush log: unsafe queue location {log}: a symbolic link" in note
    status = queue_home.smtpq("status").stdout.decode()
    assert f"flush log:      {log}, not read: unsafe queue location {log}: a symbolic link" in status


def test_another_users_file_at_the_log_is_not_written_to(queue_home: QueueHome) -> None:
    needs(os.geteuid() == 0, "needs root to give a file to another user")
    queue_home.configure(after_enqueue="flush")
    queue_home.account(closed_port())
    queue_home.sendmail(numbered_mail("log", 0))
    wait_for_background_flush(queue_home)
    log = log_of(queue_home)
    log.unlink()
    log.write_bytes(b"theirs\n")
    log.chmod(0o600)
    os.chown(log, INTRUDER, INTRUDER)

    enqueue_and_wait(queue_home, numbered_mail("log", 1))

    assert log.read_bytes() == b"theirs\n"
    assert (log.stat().st_uid, stat.S_IMODE(log.stat().st_mode)) == (INTRUDER, 0o600)
    assert f"no flush log: unsafe queue location {log}: a file of user" in last_note(queue_home)
    assert queue_home.statuses() == {1: "queued", 2: "queued"}  # the flush ran: offline


# -- in process: where the log is, and its last line ------------------------------------


def test_the_log_is_beside_the_flush_lock(tmp_path: Path) -> None:
    assert log_path(f"sqlite:///{tmp_path}/queue.sqlite3", {}) == f"{tmp_path}/queue.sqlite3.flush.log"
    server = log_path("postgresql://db.example/smtpq", {"XDG_DATA_HOME": str(tmp_path)})
    lock = lock_path("postgresql://db.example/smtpq", {"XDG_DATA_HOME": str(tmp_path)})
    assert server == lock.removesuffix(".flush.lock") + ".flush.log"
    assert re.fullmatch(rf"{tmp_path}/smtpq/flush-[0-9a-f]{{16}}\.flush\.log", server)


def test_the_last_line_is_read_from_the_tail_only(tmp_path: Path) -> None:
    log = tmp_path / "q.flush.log"
    log.write_bytes(b"x" * (10 * TAIL) + b"\nfirst\n" + b"last line \xff\n\n")
    log.chmod(0o600)
    tail = read_tail(str(log))
    assert tail is not None and tail.problem is None
    assert tail.last_line == "last line \ufffd"
    log.write_bytes(b"y" * (2 * TAIL) + b"\n")  # one line longer than what is read
    tail = read_tail(str(log))
    assert tail is not None and tail.last_line == "…" + "y" * (TAIL - 1)


def test_an_empty_or_missing_log_is_no_log(tmp_path: Path) -> None:
    assert read_tail(str(tmp_path / "missing" / "q.flush.log")) is None
    log = tmp_path / "q.flush.log"
    log.touch(mode=0o600)
    assert read_tail(str(log)) is None


def test_a_log_others_can_read_is_not_read(tmp_path: Path) -> None:
    log = tmp_path / "q.flush.log"
    log.write_text("secret reply\n")
    log.chmod(0o644)
    tail = read_tail(str(log))
    assert tail is not None and tail.last_line is None
    assert tail.problem is not None and "a queue file other users can access" in tail.problem
