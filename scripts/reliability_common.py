"""Shared by ``scripts/crash-test`` and ``scripts/load-test``: a private smtpq world.

``World`` is a temporary HOME with an msmtprc pointing at a
:class:`tests.support.faults.FaultServer` on 127.0.0.1 (which records every
mail it takes), a ``config.toml`` and its own SQLite queue; ``env`` is what
every ``smtpq-sendmail``/``smtpq`` process gets.  Mails are tagged in their
Subject (``tag(…)``) so what arrived can be counted per mail.
"""

from __future__ import annotations

import collections
import contextlib
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.certs import TlsMaterial  # noqa: E402
from tests.support.faults import FaultServer  # noqa: E402

BIN = Path(sys.executable).parent
SENDMAIL = str(BIN / "smtpq-sendmail")
SMTPQ = str(BIN / "smtpq")
_TAG = re.compile(rb"Subject: (\S+)")


class World:
    def __init__(self, **queue: str | int) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="smtpq-reliability-"))
        self.home = self.root / "home"
        self.home.mkdir(mode=0o700)
        self.server = FaultServer(TlsMaterial(self.root), stall=1)
        self.database = self.home / ".local" / "share" / "smtpq" / "queue.sqlite3"
        config = self.home / "config.toml"
        config.write_text("[queue]\n" + "".join(
            f"{k} = {v}\n" if isinstance(v, int) else f'{k} = "{v}"\n' for k, v in queue.items()))
        rc = self.home / ".msmtprc"
        rc.write_text(f"account default\nhost 127.0.0.1\nport {self.server.port}\n"
                      "from me@example.org\ntimeout 10\n")
        rc.chmod(0o600)
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("SMTPQ_", "XDG_", "MSMTP"))}
        self.env.update(HOME=str(self.home), SMTPQ_CONFIG=str(config), LC_ALL="C.UTF-8",
                        SMTPQ_DATABASE=f"sqlite:///{self.database}")

    def sendmail(self, tag: str) -> subprocess.CompletedProcess[bytes]:
        mail = f"To: you@example.net\nSubject: {tag}\n\nmail {tag}\n".encode()
        return subprocess.run([SENDMAIL, "-t"], input=mail, env=self.env, capture_output=True,
                              check=False, timeout=120)

    def smtpq(self, *args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run([SMTPQ, *args], env=self.env, capture_output=True, check=False,
                              timeout=600)

    def copies(self) -> collections.Counter[str]:
        found = (_TAG.search(mail) for mail in list(self.server.accepted))
        return collections.Counter(m.group(1).decode() for m in found if m)

    def statuses(self) -> collections.Counter[str]:
        with contextlib.closing(sqlite3.connect(self.database, timeout=60)) as db:
            return collections.Counter(s for (s,) in db.execute("SELECT status FROM messages"))

    def integrity(self) -> str:
        with contextlib.closing(sqlite3.connect(self.database, timeout=60)) as db:
            return db.execute("PRAGMA integrity_check").fetchone()[0]

    def drain(self, patience: float = 30.0) -> None:
        """Flush (``--now``) until nothing is left to send; give up only after
        *patience* seconds without progress (a background flusher may hold the lock)."""
        import time

        best, since = None, time.monotonic()
        while True:
            self.smtpq("flush", "--now")
            left = self.statuses()
            pending = left["queued"] + left["deferred"] + left["sending"]
            if not pending:
                return
            if best is None or pending < best:
                best, since = pending, time.monotonic()
            elif time.monotonic() - since > patience:
                return
            time.sleep(0.5)  # a background flusher may still hold the lock

    def lock_free(self) -> bool:
        """Whether no flusher (nor a worker of one) holds the queue's flush lock."""
        import fcntl

        path = f"{self.database}.flush.lock"
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return True
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        finally:
            os.close(fd)
        return True

    def wait_for_lock(self, patience: float = 120.0) -> None:
        """Wait until the flush lock is free (orphaned workers end after their batch)."""
        import time

        deadline = time.monotonic() + patience
        while not self.lock_free() and time.monotonic() < deadline:
            time.sleep(0.05)

    def close(self) -> None:
        self.server.stop()
        shutil.rmtree(self.root, ignore_errors=True)
