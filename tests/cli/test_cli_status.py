"""``smtpq status`` and ``smtpq check``: the queue's health, and a queue that cannot be read.

* ``status`` counts each status, ages the oldest waiting mail, names the last
  flush (from the ``flush_runs`` journal a real flush writes) and the last
  delivery, the mail held by a flusher that died on this host, and the flush
  log a background flusher wrote, with its last line;
* ``check`` prints one monitoring-plugin line (``SMTPQ WORD - text | perfdata``)
  and exits 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN for each threshold;
* a database that cannot be read (a second user, uid 65534, without permission)
  or one named in ``$SMTPQ_DATABASE`` that does not exist is an error with its
  cause and a non-zero status in every command, never "queue is empty".
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.cli.cli_support import SMTPQ, QueueBuilder, queue, run_program, smtpq  # noqa: F401
from tests.support.aiosmtpd_server import RecordingHandler
from tests.support.other_user import nobody
from tests.support.programs import needs
from tests.support.queue_home import (  # noqa: F401 - fixtures
    QueueHome,
    queue_home,
    sample_mail,
    server_at,
    wait_until,
)

SENDMAIL = Path(SMTPQ).with_name("smtpq-sendmail")


class TestStatus:
    def test_counts_oldest_last_flush_and_last_delivery(self, queue_home: QueueHome,
                                                        server_at) -> None:
        server = server_at()
        queue_home.account(server.port)
        queue_home.sendmail(sample_mail(1), "-t")
        queue_home.flush()
        queue_home.account(1)  # port 1: refused, the next mail stays queued
        queue_home.sendmail(sample_mail(2), "-t")
        assert queue_home.smtpq("flush").returncode == 75

        result = queue_home.smtpq("status", "--json")
        assert result.returncode == 0, result.stderr
        facts = json.loads(result.stdout)
        assert facts["counts"]["sent"] == 1 and facts["counts"]["queued"] == 1
        assert facts["pending"] == 1 and facts["oldest_pending_age"] >= 0
        last = facts["last_flush"]
        assert (last["exit_code"], last["unreachable"], last["sent"]) == (75, 1, 0)
        assert last["note"].startswith("offline: cannot connect to 127.0.0.1, port 1")
        assert last["finished"] is not None and facts["last_delivery"] is not None
        assert facts["dead_holders"] == []

        text = queue_home.smtpq("status").stdout.decode().splitlines()
        assert text[1] == ("messages:       1 queued, 0 deferred, 0 sending, 1 sent, 0 failed, "
                           "0 expired, 0 held")
        assert "exit 75" in text[3] and "offline" in text[3]
        assert not text[4].endswith("-")  # a last delivery

    def test_names_mail_held_by_a_dead_flusher(self, queue: QueueBuilder) -> None:
        message_id = queue.queued()
        with queue_store(queue) as store:  # claimed by a process that has ended since
            store.claim_due(queue.now, limit=1, worker_id=f"{socket.gethostname()}:{_ended_pid()}",
                            lease=timedelta(minutes=5), ids=[message_id])
        facts = json.loads(smtpq("status", "--json").stdout)
        assert [h["id"] for h in facts["dead_holders"]] == [message_id]
        assert "held by dead flushers: " in smtpq("status").stdout
        result = smtpq("check")
        assert result.exit_code == 1 and "1 held by a dead flusher" in result.stdout

    def test_shows_the_flush_log_a_background_flush_wrote_and_its_last_line(
            self, queue_home: QueueHome, server_at) -> None:
        server = server_at(handler=RecordingHandler(data_reply="550 5.7.1 refused"))
        queue_home.configure(after_enqueue="flush", notify_command="echo no display; exit 3")
        queue_home.account(server.port)
        queue_home.sendmail(sample_mail(1), "-t")
        wait_until(lambda: queue_home.flush_lock_free() and not queue_home.flushers(),
                   timeout=60, message="the background flusher to end")
        log = f"{queue_home.database}.flush.log"
        last = "1 message(s) failed for good (see: smtpq list --status failed, smtpq retry ID)"

        facts = json.loads(queue_home.smtpq("status", "--json").stdout)
        assert facts["flush_log"]["path"] == log
        assert facts["flush_log"]["last_line"] == last
        assert facts["flush_log"]["problem"] is None
        modified = datetime.fromisoformat(facts["flush_log"]["modified"])
        assert abs(modified.timestamp() - os.stat(log).st_mtime) < 1

        text = status_text(queue_home)
        assert text[-2].startswith(f"flush log:      {log}, last written ")
        assert text[-2].endswith(" ago)")
        assert text[-1] == " " * 16 + last[:80 - 17] + "…"  # a pipe: cut to 80 columns
        assert status_text(queue_home, COLUMNS="200")[-1] == " " * 16 + last

    def test_without_a_flush_log_says_nothing_of_it(self, queue: QueueBuilder) -> None:
        queue.queued()
        assert json.loads(smtpq("status", "--json").stdout)["flush_log"] is None
        assert "flush log" not in smtpq("status").stdout


def status_text(home: QueueHome, **env: str) -> list[str]:
    """The lines of ``smtpq status`` in a pipe, with *env* (and no ``$COLUMNS`` but its own)."""
    environment = {k: v for k, v in home.env.items() if k != "COLUMNS"} | env
    result = subprocess.run([SMTPQ, "status"], env=environment, capture_output=True,
                            timeout=60, check=True)
    return result.stdout.decode().splitlines()


class TestCheck:
    def check(self, *args: str) -> tuple[int, str]:
        result = smtpq("check", *args)
        (line,) = result.stdout.splitlines()
        return result.exit_code, line

    def test_an_empty_queue_is_ok(self, queue: QueueBuilder) -> None:
        queue.create()
        assert self.check() == (0, "SMTPQ OK - 0 pending | pending=0;;;0 oldest=0s;3600;86400;0 "
                                   "failed=0;;;0 expired=0;;;0 dead=0;;;0")

    def test_the_oldest_mail_against_the_age_thresholds(self, queue: QueueBuilder) -> None:
        queue.queued(age=timedelta(minutes=5))
        code, line = self.check()
        assert code == 0 and line.startswith("SMTPQ OK - 1 pending, oldest 5m | ")
        assert " oldest=30" in line  # about 300 s, warn 3600, crit 86400
        assert self.check("--warn-age", "4m")[0] == 1
        assert self.check("--warn-age", "4m", "--crit-age", "5m")[0] == 2
        assert self.check("--warn-age", "1h", "--crit-age", "2h")[0] == 0
        assert self.check("--warn-age", "4m")[1].startswith("SMTPQ WARNING - ")
        assert self.check("--crit-age", "4m")[1].startswith("SMTPQ CRITICAL - ")

    def test_the_number_waiting_against_the_count_thresholds(self, queue: QueueBuilder) -> None:
        for _ in range(3):
            queue.queued(age=timedelta(seconds=1))
        assert self.check("--warn-count", "4")[0] == 0
        code, line = self.check("--warn-count", "3")
        assert code == 1 and "pending=3;3;;0" in line
        assert self.check("--warn-count", "2", "--crit-count", "3")[0] == 2

    def test_failed_or_expired_mail_is_at_least_a_warning(self, queue: QueueBuilder) -> None:
        queue.failed()
        code, line = self.check()
        assert code == 1
        assert line.startswith("SMTPQ WARNING - 0 pending, 1 failed, 0 expired | ")
        queue.expired()
        assert self.check("--crit-count", "1")[0] == 1  # failed mail is not waiting

    def test_a_database_that_does_not_exist_is_unknown(self, queue: QueueBuilder) -> None:
        code, line = self.check()
        assert code == 3
        assert line.startswith("SMTPQ UNKNOWN - the queue database ")
        assert line.endswith("does not exist (named by $SMTPQ_DATABASE or database in config.toml)")

    def test_bad_thresholds_are_usage_errors(self, queue: QueueBuilder) -> None:
        assert smtpq("check", "--warn-age", "soon").exit_code == 64
        assert smtpq("check", "--warn-count", "0").exit_code == 64


# -- a queue that cannot be read ----------------------------------------------------------

COMMANDS = [("list",), ("show", "1"), ("flush",), ("purge", "1", "--yes"), ("retry", "1"),
            ("status",)]


@pytest.mark.parametrize("args", COMMANDS, ids=[a[0] for a in COMMANDS])
def test_a_named_database_that_does_not_exist_is_an_error_everywhere(
        queue: QueueBuilder, args: tuple[str, ...]) -> None:
    result = run_program(SMTPQ, *args)
    assert result.returncode == 66, result
    assert b"does not exist (named by $SMTPQ_DATABASE" in result.stderr
    assert b"queue is empty" not in result.stdout
    assert not Path(queue.url.removeprefix("sqlite:///")).exists()


@pytest.mark.parametrize("args", [("-bp",), ("-q",)])
def test_sendmail_bp_and_q_say_so_too(queue: QueueBuilder, args: tuple[str, ...]) -> None:
    result = run_program(SENDMAIL, *args)
    assert result.returncode == 66
    assert b"does not exist" in result.stderr and b"empty" not in result.stdout


@pytest.fixture
def unreadable() -> Iterator[dict[str, str]]:
    """A queue with one message, in a directory uid 65534 may not enter, and the
    environment to run smtpq as uid 65534 (root reads anything)."""
    needs(os.geteuid() == 0 and shutil.which("setpriv") is not None,
          "needs root and setpriv to run as uid 65534")
    top = Path(tempfile.mkdtemp(prefix="smtpq-unreadable-"))
    top.chmod(0o755)
    home = top / "home"
    home.mkdir()
    os.chown(home, 65534, 65534)
    private = top / "private"
    private.mkdir(mode=0o700)  # root's: uid 65534 cannot look inside
    url = f"sqlite:///{private / 'queue.sqlite3'}"
    QueueBuilder(url).queued()
    env = {"HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
           "SMTPQ_DATABASE": url, "XDG_CONFIG_HOME": str(home / ".config"),
           "XDG_DATA_HOME": str(home / ".local" / "share"), "LC_ALL": "C.UTF-8"}
    yield env
    shutil.rmtree(top)


@pytest.mark.parametrize("args", COMMANDS, ids=[a[0] for a in COMMANDS])
def test_a_database_that_cannot_be_read_is_an_error_with_its_cause(
        unreadable: dict[str, str], args: tuple[str, ...]) -> None:
    result = subprocess.run(nobody().argv(SMTPQ, *args), env=nobody().env(unreadable),
                            capture_output=True,
                            cwd="/", timeout=60, check=False)
    assert result.returncode not in (0, 75), result
    assert b"queue.sqlite3" in result.stderr, result.stderr  # names what cannot be read
    assert b"empty" not in result.stdout and b"Traceback" not in result.stderr


def test_check_on_a_database_that_cannot_be_read_is_unknown(unreadable: dict[str, str]) -> None:
    result = subprocess.run(nobody().argv(SMTPQ, "check"), env=nobody().env(unreadable),
                            capture_output=True,
                            cwd="/", timeout=60, check=False)
    assert result.returncode == 3
    assert result.stdout.startswith(b"SMTPQ UNKNOWN - ") and b"queue database" in result.stdout


def test_mailq_on_a_database_that_cannot_be_read_is_an_error(unreadable: dict[str, str],
                                                              tmp_path: Path) -> None:
    result = subprocess.run(nobody().argv(SENDMAIL, "-bp"), env=nobody().env(unreadable),
                            capture_output=True,
                            cwd="/", timeout=60, check=False)
    assert result.returncode != 0 and b"queue database" in result.stderr
    assert b"Mail queue is empty" not in result.stdout


# -- helpers ------------------------------------------------------------------------------

def _ended_pid() -> int:
    """The pid of a process that has ended (and been reaped)."""
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


class queue_store:  # noqa: N801 - used as a context manager, reads like a function
    def __init__(self, queue: QueueBuilder) -> None:
        from smtpq.queue.store.sql.store import open_store

        self.store = open_store(queue.url)

    def __enter__(self):  # type: ignore[no-untyped-def]
        return self.store

    def __exit__(self, *_exc: object) -> None:
        self.store.close()
