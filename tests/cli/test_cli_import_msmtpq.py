"""Taking over from msmtpq: ``smtpq import-msmtpq``, and the ``msmtpq``/``msmtp-queue`` names.

The queue is written by Debian's real msmtpq script (``/usr/libexec/msmtp/msmtpq``,
installed with msmtp by ``scripts/setup``) while the server is down, so msmtp
fails and msmtpq keeps every mail; smtpq then takes it over and delivers it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.aiosmtpd_server import SmtpServer
from tests.support.programs import needs
from tests.support.queue_home import (  # noqa: F401 - fixtures
    SENDMAIL,
    QueueHome,
    closed_port,
    header_value,
    queue_home,
    server_at,
)

MSMTPQ = Path("/usr/libexec/msmtp/msmtpq/msmtpq")


def _need_msmtpq() -> None:
    needs(MSMTPQ.exists() and shutil.which("msmtp") is not None,
          "needs Debian's msmtpq script (package msmtp)")


def _msmtpq(home: QueueHome, queue: Path, mail: bytes, *args: str) -> None:
    """Queue *mail* with the real msmtpq while its server is down (msmtp fails)."""
    env = {**home.env, "MSMTPQ_Q": str(queue), "MSMTPQ_LOG": "", "EMAIL_CONN_TEST": "x"}
    done = subprocess.run(["bash", str(MSMTPQ), *args], input=mail, env=env,
                          capture_output=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr.decode()


MAILS = [
    b"From: me@example.org\nTo: first@example.net\nSubject: one\n"
    b"Date: Mon, 02 Nov 2026 10:00:00 +0000\nMessage-ID: <one@example.org>\n\nfirst\n",
    b"From: me@example.org\nTo: second@example.net\nCc: cc@example.net\nSubject: two\n"
    b"Date: Mon, 02 Nov 2026 10:00:01 +0000\n\nsecond, no Message-ID\n",
    b"From: me@example.org\nSubject: three, no Date\n\nthird\n",
]


@pytest.fixture
def msmtpq_queue(queue_home: QueueHome, tmp_path: Path) -> Path:
    """Three mails queued by the real msmtpq, the way mutt calls it."""
    _need_msmtpq()
    queue_home.account(closed_port())
    queue = tmp_path / "msmtp.queue"
    _msmtpq(queue_home, queue, MAILS[0], "-oi", "first@example.net")
    _msmtpq(queue_home, queue, MAILS[1], "-oi", "-t")
    _msmtpq(queue_home, queue, MAILS[2], "-oi", "-f", "me@example.org", "third@example.net")
    assert len(list(queue.glob("*.mail"))) == 3
    return queue


def _live(queue_home: QueueHome, server_at) -> SmtpServer:  # type: ignore[no-untyped-def]
    server = server_at()
    queue_home.account(server.port)
    return server


class TestImport:
    def test_every_msmtpq_mail_is_delivered_in_queue_order_with_its_own_bytes(
            self, queue_home: QueueHome, msmtpq_queue: Path, server_at) -> None:  # type: ignore[no-untyped-def]
        result = queue_home.smtpq("import-msmtpq", str(msmtpq_queue))
        assert result.returncode == 0, result.stderr.decode()
        assert b"imported 3 of 3" in result.stdout
        assert list(msmtpq_queue.iterdir()) == []  # originals removed once stored
        assert [m.subject for m in queue_home.messages()] == [
            "one", "two", "three, no Date"]
        server = _live(queue_home, server_at)
        queue_home.flush()
        got = server.messages
        assert [m.rcpt_tos for m in got] == [
            ["first@example.net"], ["second@example.net", "cc@example.net"],
            ["third@example.net"]]
        assert header_value(got[0].data, "Date") == "Mon, 02 Nov 2026 10:00:00 +0000"
        assert header_value(got[0].data, "Message-ID") == "<one@example.org>"
        assert b"\r\n\r\nfirst\r\n" in got[0].data
        assert header_value(got[1].data, "Date") == "Mon, 02 Nov 2026 10:00:01 +0000"

    def test_a_mail_without_date_keeps_the_time_msmtpq_queued_it(
            self, queue_home: QueueHome, msmtpq_queue: Path) -> None:
        import email.utils
        import time

        [undated] = [p for p in msmtpq_queue.glob("*.mail") if b"no Date" in p.read_bytes()]
        for suffix in (".mail", ".msmtp"):  # queued weeks ago, as msmtpq names it
            undated.with_suffix(suffix).rename(msmtpq_queue / f"2026-01-15-08.30.00{suffix}")
        assert queue_home.smtpq("import-msmtpq", str(msmtpq_queue)).returncode == 0
        third = queue_home.messages()[0]  # now the oldest of the queue
        assert third.subject == "three, no Date"
        date = header_value(queue_home.stored(third.id), "Date")
        assert date is not None
        queued = time.mktime(time.strptime("2026-01-15 08:30:00", "%Y-%m-%d %H:%M:%S"))
        assert email.utils.parsedate_to_datetime(date).timestamp() == queued

    def test_a_second_run_takes_nothing_twice(self, queue_home: QueueHome,
                                              msmtpq_queue: Path, tmp_path: Path) -> None:
        backup = tmp_path / "backup"
        shutil.copytree(msmtpq_queue, backup)
        assert queue_home.smtpq("import-msmtpq", str(msmtpq_queue)).returncode == 0
        # As if the first run had stopped between storing the mails and removing them.
        for path in backup.iterdir():
            shutil.copy2(path, msmtpq_queue / path.name)
        again = queue_home.smtpq("import-msmtpq", str(msmtpq_queue))
        assert again.returncode == 0, again.stderr.decode()
        assert b"already in the queue" in again.stdout
        assert len(queue_home.messages()) == 3
        assert list(msmtpq_queue.iterdir()) == []

    def test_mail_it_cannot_take_is_left_in_place_and_named(
            self, queue_home: QueueHome, msmtpq_queue: Path) -> None:
        first = sorted(msmtpq_queue.glob("*.msmtp"))[0]
        first.write_text("-a nosuchaccount first@example.net\n")
        orphan = msmtpq_queue / "2026-01-01-00.00.00.mail"
        orphan.write_bytes(b"Subject: orphan\n\nno .msmtp beside me\n")
        result = queue_home.smtpq("import-msmtpq", str(msmtpq_queue))
        assert result.returncode == 65
        err = result.stderr.decode()
        assert first.stem in err and "nosuchaccount" in err
        assert orphan.stem in err and ".msmtp is missing" in err
        assert first.exists() and first.with_suffix(".mail").exists() and orphan.exists()
        assert len(queue_home.messages()) == 2

    def test_the_default_directory_is_msmtpqs(self, queue_home: QueueHome,
                                              msmtpq_queue: Path) -> None:
        queue_home.env["MSMTPQ_Q"] = str(msmtpq_queue)
        result = queue_home.smtpq("import-msmtpq")
        assert result.returncode == 0, result.stderr.decode()
        assert len(queue_home.messages()) == 3

    def test_no_queue_there_is_an_error(self, queue_home: QueueHome, tmp_path: Path) -> None:
        result = queue_home.smtpq("import-msmtpq", str(tmp_path / "nothing"))
        assert result.returncode == 66
        assert b"no msmtpq queue there" in result.stderr


def _named(tmp_path: Path, name: str) -> str:
    link = tmp_path / "bin" / name
    link.parent.mkdir(exist_ok=True)
    os.symlink(SENDMAIL, link)
    return str(link)


class TestMsmtpqNames:
    def test_msmtpq_as_sendmail_queues_the_mail(self, queue_home: QueueHome,
                                                tmp_path: Path) -> None:
        queue_home.account(closed_port())
        msmtpq = _named(tmp_path, "msmtpq")
        done = queue_home.run([msmtpq, "-oi", "first@example.net"], mail=MAILS[0])
        assert done.returncode == 0, done.stderr.decode()
        assert [m.status.value for m in queue_home.messages()] == ["queued"]

    def test_msmtp_queue_lists_runs_and_purges_with_msmtpqs_ops(
            self, queue_home: QueueHome, tmp_path: Path, server_at) -> None:  # type: ignore[no-untyped-def]
        queue_home.account(closed_port())
        queue_home.sendmail(MAILS[0], "first@example.net")
        queue_home.sendmail(MAILS[1], "-t")
        mq = _named(tmp_path, "msmtp-queue")
        listing = queue_home.run([mq, "-d"])
        assert listing.returncode == 0
        assert b"mail  num=[ 1 ]  id=[ 1 ]" in listing.stdout
        assert b"Subject: two" in listing.stdout
        assert queue_home.run([mq]).stdout == listing.stdout  # -d is the default
        unknown = queue_home.run([mq, "-x"])
        assert unknown.returncode == 1
        assert b"[ -x ] is an unknown msmtp-queue option" in unknown.stdout
        server = _live(queue_home, server_at)
        # -R: choose mail number 2, confirm with an empty answer ([Y/n]); then the one
        # mail left is offered alone, and "n" leaves it.
        chosen = queue_home.run([mq, "-R"], mail=b"2\n\nn\n")
        assert chosen.returncode == 0, chosen.stderr.decode()
        assert [m.rcpt_tos for m in server.messages] == [["second@example.net", "cc@example.net"]]
        run = queue_home.run([mq, "-r"])
        assert run.returncode == 0, run.stderr.decode()
        assert len(server.messages) == 2
        assert {m.status.value for m in queue_home.messages()} == {"sent"}

    def test_msmtp_queue_purge_all_asks_and_defaults_to_no(self, queue_home: QueueHome,
                                                           tmp_path: Path) -> None:
        queue_home.account(closed_port())
        queue_home.sendmail(MAILS[0], "first@example.net")
        mq = _named(tmp_path, "msmtp-queue")
        refused = queue_home.run([mq, "-a"], mail=b"\n")
        assert b"queue is untouched" in refused.stdout
        assert len(queue_home.messages()) == 1
        purged = queue_home.run([mq, "-a"], mail=b"y\n")
        assert b"msmtp queue purged (all mail)" in purged.stdout
        assert queue_home.messages() == []

    def test_msmtpq_q_mgmt_is_msmtp_queue(self, queue_home: QueueHome, tmp_path: Path) -> None:
        queue_home.account(closed_port())
        msmtpq = _named(tmp_path, "msmtpq")
        done = queue_home.run([msmtpq, "--q-mgmt", "-h"])
        assert done.returncode == 0
        assert b"usage : msmtp-queue functions" in done.stdout
