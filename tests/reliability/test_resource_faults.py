"""Resource faults: a full disk and a read-only queue.

An enqueue that cannot store its mail exits with a clear message and
EX_IOERR (74) or EX_CANTCREAT (73) — never 0 — and leaves nothing half
written; mail accepted before is still there.  A flush that cannot write
stops with the same kind of message before sending anything (a mail sent but
not recorded would go twice), and a later flush, once the disk has room or
the database is writable again, delivers everything exactly once.

The faults are real: a small tmpfs holding the queue, filled to the last
block, and a read-only bind mount over the queue directory (root ignores file
modes, so ``chmod`` would prove nothing).  Mounting needs root: the tests skip
where ``mount`` fails, and fail in CI (``CI=true``).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.certs import TlsMaterial
from tests.support.faults import FaultServer
from tests.support.programs import needs
from tests.support.queue_home import QueueHome, queue_home  # noqa: F401

#: What the caller may see instead of 0: EX_CANTCREAT, EX_IOERR.
REFUSED = (73, 74)


def mail(subject: str, size: int = 0) -> bytes:
    return (f"From: me@example.org\nTo: you@example.net\nSubject: {subject}\n\n".encode()
            + b"y" * size + b"\n")


def mount(*argv: str) -> None:
    result = subprocess.run(["mount", *argv], capture_output=True, check=False)
    if result.returncode != 0:
        needs(False, f"needs root to mount ({result.stderr.decode().strip()})")


def umount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)


@pytest.fixture
def server(tls_material: TlsMaterial) -> Iterator[FaultServer]:
    made = FaultServer(tls_material)
    yield made
    made.stop()


@pytest.fixture
def small_disk(queue_home: QueueHome) -> Iterator[Path]:
    """A 1 MiB tmpfs; the queue database is moved onto it."""
    where = queue_home.root / "small"
    where.mkdir()
    mount("-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", str(where))
    database = where / "queue" / "queue.sqlite3"
    queue_home.database, queue_home.url = database, f"sqlite:///{database}"
    queue_home.env["SMTPQ_DATABASE"] = queue_home.url
    yield where
    umount(where)


def fill(directory: Path) -> Path:
    """Write a file until the file system has no block left."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    with contextlib.suppress(OSError):
        while True:
            os.write(fd, b"z" * 4096)
    with contextlib.suppress(OSError):
        os.write(fd, b"z")  # the last partial block
    os.close(fd)
    return filler


def integrity(database: Path) -> str:
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
        return db.execute("PRAGMA integrity_check").fetchone()[0]


def subjects(home: QueueHome) -> list[str]:
    return [m.subject for m in home.messages()]


def test_a_full_disk_refuses_the_mail_keeps_the_queue_and_the_flush_resumes(
        queue_home: QueueHome, small_disk: Path, server: FaultServer) -> None:
    queue_home.account(server.port)
    for number in range(3):
        queue_home.sendmail(mail(f"before {number}"))

    # A mail larger than the disk: refused, nothing of it stored.
    too_big = queue_home.sendmail(mail("too big", 2_000_000), ok=False)
    assert too_big.returncode in REFUSED
    assert b"disk is full" in too_big.stderr or b"disk I/O error" in too_big.stderr
    assert b"Traceback" not in too_big.stderr
    assert subjects(queue_home) == ["before 0", "before 1", "before 2"]

    # No block left at all: even a small mail is refused, and the flush stops cleanly.
    filler = fill(small_disk)
    small = queue_home.sendmail(mail("small"), ok=False)
    assert small.returncode in REFUSED and small.stderr.startswith(b"smtpq-sendmail: ")
    flush = queue_home.smtpq("flush")
    assert flush.returncode in REFUSED and b"Traceback" not in flush.stderr
    assert server.accepted == []  # nothing sent that could not be recorded

    # Room again: the next flush delivers every accepted mail, once.
    filler.unlink()
    assert integrity(queue_home.database) == "ok"
    queue_home.flush()
    assert set(queue_home.statuses().values()) == {"sent"}
    assert sorted(m.split(b"Subject: ")[1].split(b"\r\n")[0] for m in server.accepted) == [
        b"before 0", b"before 1", b"before 2"]


def test_a_read_only_queue_refuses_the_mail_and_the_flush_resumes_when_writable(
        queue_home: QueueHome, server: FaultServer) -> None:
    queue_home.account(server.port)
    for number in range(3):
        queue_home.sendmail(mail(f"before {number}"))
    directory = queue_home.database.parent
    mount("--bind", str(directory), str(directory))
    try:
        mount("-o", "remount,bind,ro", str(directory))
        refused = queue_home.sendmail(mail("read-only"), ok=False)
        flush = queue_home.smtpq("flush")
    finally:
        umount(directory)

    assert refused.returncode in REFUSED
    assert refused.stderr.startswith(b"smtpq-sendmail: cannot write the queue database")
    assert flush.returncode in REFUSED and b"Read-only file system" in flush.stderr
    assert server.accepted == []
    assert subjects(queue_home) == ["before 0", "before 1", "before 2"]

    queue_home.flush()
    assert set(queue_home.statuses().values()) == {"sent"}
    assert len(server.accepted) == 3
    assert integrity(queue_home.database) == "ok"
