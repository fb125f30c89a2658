"""A fleet of flush workers sharing one PostgreSQL queue (the SIGKILL test and ``scripts/bench-fleet``).

* ``load_queue(url, count)`` fills a queue with *count* numbered
  mails in a few bulk statements (the rows ``smtpq.queue.store.rows`` builds, as
  every enqueue path does), each with its own ``Message-ID: <N@fleet.test>``;
* ``CountingServer`` is an aiosmtpd server on 127.0.0.1 that counts what it
  accepted by Message-ID (a mail counts once its DATA is complete, exactly when
  the server answers 250 to it: the moment it becomes the server's);
* ``Fleet`` runs N worker processes, each a real ``run_flush`` loop in its own
  ``$XDG_DATA_HOME`` (so the per-host lock, which is per data directory for a
  server database, does not serialise them: they behave as N hosts).  A
  worker exits when the queue holds nothing queued, deferred or being sent.
  With ``go``, each worker first writes ``GO.<pid>`` and waits for ``GO`` to
  exist (a benchmark times the work, not the imports).
  ``kill(i)`` SIGKILLs one, ``start(i)`` starts it again.  The workers run
  with the default ``claim_lease`` unless one is given.

The workers share one ``$HOME`` (one ``~/.msmtprc``, one ``config.toml``):
the hosts of a fleet are configured alike.
"""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from aiosmtpd.controller import Controller

from tests.support.aiosmtpd_server import free_port

#: The worker: flush until nothing is left to do, then exit 0.
WORKER = r"""
import os, time
from smtpq.queue.flush.flusher import FlushRequest, run_flush
from smtpq.queue.settings import load_settings
from smtpq.queue.store.sql.store import open_store
from smtpq.queue.states import MessageStatus as S

settings = load_settings(os.environ)
busy = (S.QUEUED, S.DEFERRED, S.SENDING)
with open_store(settings.database) as store:
    go = os.environ.get("SMTPQ_FLEET_GO")
    if go:  # a benchmark's starting line: ready, then wait for the others
        open(f"{go}.{os.getpid()}", "w").close()
        while not os.path.exists(go):
            time.sleep(0.005)
    while True:
        report = run_flush(settings, FlushRequest(), env=os.environ)
        if report.attempted:
            continue
        if not store.list_messages(busy, limit=1):
            break
        time.sleep(0.1)  # claims of others (a dead worker's are taken back by the next claim)
"""


def fleet_mail(number: int) -> bytes:
    return (f"From: me@example.org\r\nTo: you@example.net\r\nSubject: fleet {number}\r\n"
            f"Message-ID: <{number}@fleet.test>\r\n\r\nmail number {number}\r\n").encode()


def load_queue(url: str, count: int, options: Sequence[str] = (), *,
               account: str = "default") -> list[int]:
    """Queue *count* mails numbered 0..count-1 in bulk; their ids in number order."""
    from sqlalchemy import insert

    from smtpq.queue.new_message import NewMessage
    from smtpq.queue.store.rows import message_row, recipient_rows
    from smtpq.queue.store.sql.models import message_chunks, messages, recipients
    from smtpq.queue.store.sql.store import open_store

    now = datetime.now(UTC)
    news = [NewMessage(account=account, envelope_from="me@example.org",
                       recipients=("you@example.net",), options=tuple(options),
                       msgid=f"<{n}@fleet.test>", subject=f"fleet {n}") for n in range(count)]
    bodies = [fleet_mail(n) for n in range(count)]
    rows = [{**message_row(new, now), "size": len(body)} for new, body in zip(news, bodies, strict=True)]
    with open_store(url) as store, store._engine.begin() as c:  # noqa: SLF001 - test loader
        ids = list(c.execute(insert(messages).returning(messages.c.id, sort_by_parameter_order=True),
                             rows).scalars())
        c.execute(insert(recipients), [r for i, new in zip(ids, news, strict=True)
                                       for r in recipient_rows(i, new, now)])
        c.execute(insert(message_chunks), [{"message_id": i, "seq": 0, "data": body}
                                           for i, body in zip(ids, bodies, strict=True)])
    return ids


class _Counter:
    def __init__(self) -> None:
        self.received: collections.Counter[str] = collections.Counter()
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802, ANN001
        data = envelope.original_content or b""
        head = data.split(b"\r\n\r\n", 1)[0]
        msgid = next((line[11:].strip().decode() for line in head.split(b"\r\n")
                      if line.lower().startswith(b"message-id:")), "")
        with self.lock:
            self.received[msgid] += 1
        return "250 2.0.0 accepted"


class CountingServer:
    """aiosmtpd on 127.0.0.1 counting accepted mails by Message-ID."""

    def __init__(self) -> None:
        self.port = free_port()
        self._handler = _Counter()
        self._controller = Controller(self._handler, hostname="127.0.0.1", port=self.port)

    def start(self) -> CountingServer:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    @property
    def received(self) -> collections.Counter[str]:
        with self._handler.lock:
            return collections.Counter(self._handler.received)


class Fleet:
    """N flush worker processes on the queue at *url*, sending to 127.0.0.1:*port*."""

    def __init__(self, root: Path, url: str, port: int, *, workers: int,
                 lease: str | None = None, batch: int | None = None,
                 go: Path | None = None) -> None:
        self.root = root
        self.url = url
        home = root / "home"
        (home / ".config" / "smtpq").mkdir(parents=True, exist_ok=True)
        rc = home / ".msmtprc"
        rc.write_text(f"defaults\ntimeout 10\naccount default\nhost 127.0.0.1\nport {port}\n"
                      "from me@example.org\n")
        rc.chmod(0o600)
        config = home / ".config" / "smtpq" / "config.toml"
        # The default claim_lease unless a test about the lease sets one.
        lease_line = "" if lease is None else f'claim_lease = "{lease}"\n'
        config.write_text(f'[queue]\nafter_enqueue = "none"\n{lease_line}')
        foreign = ("SMTPQ_", "XDG_", "MSMTP", "SMTPSERVER", "EMAIL", "NETRC", "PG")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(foreign)}
        self.env.update(HOME=str(home), SMTPQ_CONFIG=str(config), SMTPQ_DATABASE=url,
                        LC_ALL="C.UTF-8")
        if go is not None:  # workers wait at a starting line until *go* exists
            self.env["SMTPQ_FLEET_GO"] = str(go)
        self.code = WORKER if batch is None else (
            f"import smtpq.queue.flush.worker as _f; _f.BATCH = {batch}\n" + WORKER)
        self.procs: list[subprocess.Popen[bytes] | None] = [None] * workers
        self.kills = 0
        self.starts = 0

    def worker_env(self, index: int) -> dict[str, str]:
        """Worker *index*'s environment: its own data directory, as if on its own host."""
        data = self.root / f"host{index}" / "data"
        data.mkdir(parents=True, exist_ok=True)
        return {**self.env, "XDG_DATA_HOME": str(data)}

    def start(self, index: int | None = None) -> None:
        """Start worker *index* (default: every worker)."""
        for i in range(len(self.procs)) if index is None else (index,):
            log = open(self.root / f"worker{i}.log", "ab")  # noqa: SIM115 - kept by Popen
            self.procs[i] = subprocess.Popen([sys.executable, "-c", self.code],
                                             env=self.worker_env(i), stdout=log, stderr=log,
                                             stdin=subprocess.DEVNULL)
            log.close()
            self.starts += 1

    def kill(self, index: int) -> bool:
        """SIGKILL worker *index* if it is running; whether it was."""
        proc = self.procs[index]
        if proc is None or proc.poll() is not None:
            return False
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        self.kills += 1
        return True

    def pid(self, index: int) -> int | None:
        proc = self.procs[index]
        return None if proc is None else proc.pid

    def running(self) -> list[int]:
        return [i for i, proc in enumerate(self.procs) if proc is not None and proc.poll() is None]

    def wait(self, timeout: float) -> list[int | None]:
        """Wait for every worker to exit; their exit codes (None: still running at the deadline)."""
        deadline = time.monotonic() + timeout
        while self.running() and time.monotonic() < deadline:
            time.sleep(0.1)
        return [None if proc is None else proc.poll() for proc in self.procs]

    def stop(self) -> None:
        for i in self.running():
            self.kill(i)

    def logs(self) -> str:
        return "\n".join(f"--- worker{i}.log\n" + (self.root / f"worker{i}.log").read_text(
            errors="replace")[-3000:] for i in range(len(self.procs))
            if (self.root / f"worker{i}.log").exists())
