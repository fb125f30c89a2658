"""What ``smtpq-sendmail`` (enqueue mode) promises before any delivery is tried.

It resolves the account and the envelope exactly as msmtp would, so a broken
configuration is msmtp's exit 78 with msmtp's message and a mail without
recipients msmtp's 64, and in both cases nothing is stored.  Date and
Message-ID are stamped when the mail is queued.  What is stored to re-apply
the command line at flush time is an argv list with absolute paths (never a
shell string, never a password), so a relative ``-C`` file and a relative
``--logfile`` still work when the flush runs elsewhere.  The queue is private:
database 0600, directory 0700, whatever the umask.
"""

from __future__ import annotations

import os
import stat
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.programs import msmtp_binary
from tests.support.queue_home import (  # noqa: F401 - fixtures
    SENDMAIL,
    QueueHome,
    closed_port,
    crlf_undone,
    header_time,
    header_value,
    queue_home,
    server_at,
)

MAIL = b"From: me@example.org\nTo: you@example.net\nSubject: semantics\n\nhello\n"


def without_program(stderr: bytes) -> list[str]:
    """stderr lines without the ``program: `` prefix (msmtp's or ours)."""
    return [line.split(": ", 1)[1] for line in stderr.decode().splitlines()]


def msmtp(home: QueueHome, mail: bytes, *args: str) -> subprocess.CompletedProcess[bytes]:
    """The real msmtp in the same world (used only where it fails before connecting)."""
    return home.run([msmtp_binary(), *args], mail=mail)


@pytest.mark.msmtp
def test_a_configuration_error_exits_78_with_msmtps_message_and_stores_nothing(
        queue_home: QueueHome) -> None:
    queue_home.write_msmtprc("account default\nhost 127.0.0.1\nfoo bar\n")

    ours = queue_home.sendmail(MAIL, "-t", ok=False)
    theirs = msmtp(queue_home, MAIL, "-t")

    assert (ours.returncode, theirs.returncode) == (78, 78)
    assert without_program(ours.stderr) == without_program(theirs.stderr) == [
        f"{queue_home.msmtprc}: line 3: unknown command foo"]
    assert queue_home.messages() == []


@pytest.mark.msmtp
def test_a_mail_without_recipients_exits_64_and_stores_nothing(queue_home: QueueHome) -> None:
    queue_home.account(closed_port())
    mail = b"From: me@example.org\nSubject: nobody\n\nhello\n"

    ours = queue_home.sendmail(mail, "-t", ok=False)
    theirs = msmtp(queue_home, mail, "-t")

    assert (ours.returncode, theirs.returncode) == (64, 64)
    assert without_program(ours.stderr) == without_program(theirs.stderr) == ["no recipients found"]
    assert queue_home.messages() == []


def test_date_and_message_id_are_stamped_when_the_mail_is_queued(
        queue_home: QueueHome, server_at) -> None:
    server = server_at()
    queue_home.account(server.port)
    before = time.time()
    queue_home.sendmail(MAIL)
    after = time.time()
    (message,) = queue_home.messages()
    stored = queue_home.stored(message.id)

    assert before - 1 <= header_time(stored) <= after + 1
    assert header_value(stored, "Message-ID") == message.msgid
    assert message.msgid.startswith("<") and message.msgid.endswith("@example.org>")

    time.sleep(1.1)  # a flush that stamped its own Date would show it now
    queue_home.flush()

    (received,) = server.messages
    assert header_value(received.data, "Date") == header_value(stored, "Date")
    assert header_value(received.data, "Message-ID") == message.msgid


def test_relative_config_and_logfile_work_from_another_directory_and_no_password_is_stored(
        queue_home: QueueHome, server_at) -> None:
    server = server_at(credentials={"me": "s3cret-pw"}, auth_require_tls=False)
    caller = queue_home.root / "caller dir"
    caller.mkdir()
    queue_home.write_msmtprc(
        f"account work\nhost 127.0.0.1\nport {server.port}\nfrom me@example.org\n"
        "auth plain\nuser me\npassword s3cret-pw\n", caller / "rc")

    queue_home.sendmail(MAIL, "-C", "rc", "-a", "work", "--logfile", "my log.txt", "-t",
                        cwd=caller)
    (message,) = queue_home.messages()
    detail = queue_home.detail(message.id)

    # An argv list: each option one string, paths made absolute, no quoting.
    assert detail.options == (f"--file={caller}/rc", "--account=work",
                              f"--logfile={caller}/my log.txt")
    assert detail.config_file == f"{caller}/rc"
    database_bytes = b"".join(p.read_bytes() for p in queue_home.database.parent.iterdir()
                              if p.name.startswith(queue_home.database.name))
    assert b"s3cret-pw" not in database_bytes

    elsewhere = queue_home.root / "elsewhere"
    elsewhere.mkdir()
    queue_home.flush(cwd=elsewhere)

    assert queue_home.detail(message.id).status.value == "sent"
    assert len(server.messages) == 1
    log = (caller / "my log.txt").read_text()
    assert "auth=on user=me" in log and "exitcode=EX_OK" in log
    assert "s3cret-pw" not in log
    assert not (elsewhere / "my log.txt").exists()


def test_the_queue_is_private_whatever_the_umask(queue_home: QueueHome) -> None:
    queue_home.account(closed_port())
    result = subprocess.run([SENDMAIL, "-t"], input=MAIL, capture_output=True,
                            env=queue_home.env, cwd=queue_home.root, timeout=30,
                            preexec_fn=lambda: os.umask(0), check=False)
    assert result.returncode == 0, result.stderr.decode()

    directory: Path = queue_home.database.parent
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    files = [p for p in directory.iterdir() if p.name.startswith(queue_home.database.name)]
    assert queue_home.database in files
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name


def test_stored_mail_is_what_the_account_made_of_it(queue_home: QueueHome) -> None:
    queue_home.account(closed_port())
    mail = b"To: you@example.net\nBcc: secret@example.net\nSubject: s\n\nbody\n"

    queue_home.sendmail(mail)

    (message,) = queue_home.messages()
    stored = crlf_undone(queue_home.stored(message.id))
    assert header_value(stored, "Bcc") is None  # removed, as msmtp does
    assert header_value(stored, "From") == "me@example.org"  # added for the account
    assert message.recipients == ("you@example.net", "secret@example.net")
    assert stored.endswith(b"\n\nbody\n")


def test_a_background_flush_that_cannot_start_does_not_fail_a_stored_mail(
        queue_home: QueueHome) -> None:
    queue_home.account(closed_port())
    queue_home.sendmail(MAIL)  # creates the queue
    queue_home.configure(after_enqueue="flush")
    lock = Path(f"{queue_home.database}.flush.lock")
    lock.mkdir()  # the flush lock cannot be opened

    result = queue_home.sendmail(MAIL, ok=False)

    # The mail is stored: exit 0, or the caller would send it again; a warning says why
    # it waits for the next flush.
    assert result.returncode == 0
    assert result.stderr.decode() == (
        f"smtpq-sendmail: mail queued, but cannot start a background flush: {lock}: Is a directory\n")
    assert len(queue_home.messages()) == 2
