"""A private smtpq world for tests that run the real programs against the real queue.

``QueueHome`` is a temporary ``$HOME`` with its own ``~/.msmtprc`` (0600),
``config.toml`` (``$SMTPQ_CONFIG``) and queue database (``$SMTPQ_DATABASE``);
``.env`` is the environment every subprocess gets, so ``smtpq-sendmail``,
``smtpq flush`` and the detached flushers they start all see the same world
and nothing of the developer's own.

* ``home.account(port)`` writes an msmtprc whose default account reaches
  127.0.0.1:*port* (plus any extra msmtprc lines);
* ``home.configure(after_enqueue="none", …)`` writes the ``[queue]`` table (no
  bounces unless asked for: ``bounce="sender"``);
* ``home.sendmail(mail, *args)`` / ``home.sendmail_many(mails)`` enqueue through
  the installed ``smtpq-sendmail``; ``home.smtpq(*args)`` runs ``smtpq``;
* ``home.messages()``, ``home.detail(id)``, ``home.stored(id)`` read the queue
  through the store;
* ``home.flushers()`` lists the live background flushers of this queue (by
  /proc), and the fixture kills any still running when the test ends.

``server_at(port, **options)`` (fixture) starts an aiosmtpd server
(:class:`tests.support.aiosmtpd_server.SmtpServer`) on a port chosen before
(for "the server comes online" tests) or on any free one (``port=None``);
``SlowHandler`` makes it answer DATA slowly, or hold one mail until released.
``closed_port()`` is a port nobody listens on.

Helpers: ``sample_mail(n)`` (a mail with what a wire encoder must get right),
``without_headers``, ``header_value``, ``header_time``, ``crlf_undone`` to
compare what a server received with what was given, and ``wait_until`` to
poll for what a detached process does.

Import the fixtures into a test module: ``from tests.support.queue_home import
queue_home, server_at  # noqa: F401``.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import email.utils
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.support.aiosmtpd_server import RecordingHandler, SmtpServer, free_port
from tests.support.certs import TlsMaterial

BIN = Path(sys.executable).parent
SENDMAIL = str(BIN / "smtpq-sendmail")
SMTPQ = str(BIN / "smtpq")
#: Variables of the developer's environment that would change what the programs do.
_FOREIGN = ("SMTPQ_", "XDG_", "MSMTP", "SMTPSERVER", "EMAIL", "NETRC")


def closed_port() -> int:
    """A 127.0.0.1 port with no listener (a connection to it is refused)."""
    return free_port()


def crlf_undone(data: bytes) -> bytes:
    """DATA as the server received it (dot-stuffing already undone), with LF line ends."""
    return data.replace(b"\r\n", b"\n")


def header_value(mail: bytes, name: str) -> str | None:
    """The first *name* header of *mail* (any line ends), unfolded, or None."""
    head = crlf_undone(mail).split(b"\n\n", 1)[0]
    prefix = name.lower().encode() + b":"
    value: bytes | None = None
    for line in head.split(b"\n"):
        if value is not None:
            if line[:1] not in (b" ", b"\t"):
                break
            value += line  # RFC 5322 §2.2.3: unfolding removes the line break only
        elif line.lower().startswith(prefix):
            value = line[len(prefix):]
    return None if value is None else value.strip().decode()


def numbered_mail(label: str, number: int) -> bytes:
    """A small mail to you@example.net whose Subject is ``LABEL NUMBER`` (told apart by it)."""
    return (f"From: me@example.org\nTo: you@example.net\nSubject: {label} {number}\n\n"
            f"mail {number}\n").encode()


def subjects_received(server: Any) -> collections.Counter[str | None]:
    """How many times *server* received each Subject (duplicates show as counts > 1)."""
    return collections.Counter(header_value(m.data, "Subject") for m in server.messages)


def header_time(mail: bytes) -> float:
    """The mail's Date header as a POSIX time."""
    value = header_value(mail, "Date")
    assert value is not None, "no Date header"
    return email.utils.parsedate_to_datetime(value).timestamp()


#: The statuses of a flush that ran (``smtpq.queue.flush.events.exit_status``).
FLUSH_STATUSES = (0, 65, 69, 75)


class QueueHome:
    """A temporary HOME with msmtprc, config.toml and a queue database; see the module doc."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.home = root / "home"
        self.home.mkdir(mode=0o700)
        self.msmtprc = self.home / ".msmtprc"
        self.config = self.home / ".config" / "smtpq" / "config.toml"
        self.config.parent.mkdir(parents=True)
        self.database = self.home / ".local" / "share" / "smtpq" / "queue.sqlite3"
        self.url = f"sqlite:///{self.database}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(_FOREIGN)}
        self.env.update(HOME=str(self.home), SMTPQ_CONFIG=str(self.config),
                        SMTPQ_DATABASE=self.url, LC_ALL="C.UTF-8")
        self.configure()

    # -- configuration -----------------------------------------------------------
    def configure(self, **queue: str | int) -> None:
        """Write config.toml's ``[queue]`` table; ``after_enqueue`` defaults to "none",
        ``bounce`` to "none" (a test about notices asks for them: ``bounce="sender"``)."""
        queue.setdefault("after_enqueue", "none")
        queue.setdefault("bounce", "none")
        lines = ["[queue]"] + [f"{key} = {value}" if isinstance(value, int) else
                               f'{key} = "{value}"' for key, value in queue.items()]
        self.config.write_text("\n".join(lines) + "\n")

    def account(self, port: int, *extra: str, logfile: Path | None = None) -> None:
        """An msmtprc whose default account sends to 127.0.0.1:*port* as me@example.org."""
        lines = ["defaults", "timeout 10"]
        if logfile is not None:
            lines.append(f"logfile {logfile}")
        lines += ["account default", "host 127.0.0.1", f"port {port}",
                  "from me@example.org", *extra]
        self.write_msmtprc("\n".join(lines) + "\n")

    def write_msmtprc(self, text: str, path: Path | None = None) -> Path:
        path = path or self.msmtprc
        path.write_text(text)
        path.chmod(0o600)  # msmtp refuses a readable file that holds a password
        return path

    # -- programs ----------------------------------------------------------------
    def run(self, argv: Sequence[str], *, mail: bytes | None = None, cwd: Path | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(list(argv), input=mail if mail is not None else b"",
                              capture_output=True, env=self.env, cwd=cwd or self.root,
                              timeout=timeout, check=False)

    def sendmail(self, mail: bytes, *args: str, cwd: Path | None = None,
                 ok: bool = True) -> subprocess.CompletedProcess[bytes]:
        """``smtpq-sendmail ARGS < mail`` (``-t`` if no argument is given)."""
        result = self.run([SENDMAIL, *(args or ("-t",))], mail=mail, cwd=cwd)
        if ok:
            assert result.returncode == 0, result.stderr.decode()
        return result

    def sendmail_many(self, mails: Iterable[bytes], *args: str, parallel: int | None = None
                      ) -> list[subprocess.CompletedProcess[bytes]]:
        """Enqueue every mail with its own ``smtpq-sendmail`` process, *parallel* at a time
        (default: one per CPU, the fastest way through a burst).

        The first mail goes alone when there is no queue yet: the store does not yet
        survive two processes creating a queue at the same instant (see
        ``test_the_first_enqueue_of_a_new_queue_waits_for_another_that_is_setting_it_up``).
        """
        mails = list(mails)
        first = []
        if mails and self.url == f"sqlite:///{self.database}" and not self.database.exists():
            first = [self.sendmail(mails.pop(0), *args)]
        with ThreadPoolExecutor(parallel or os.cpu_count() or 2) as pool:
            return first + list(pool.map(lambda mail: self.sendmail(mail, *args), mails))

    def smtpq(self, *args: str, cwd: Path | None = None,
              timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
        return self.run([SMTPQ, *args], cwd=cwd, timeout=timeout)

    def flush(self, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
        """``smtpq flush ARGS``, which must run to its end: its status then says what
        happened to the mail (0 sent, 75 deferred/offline, 65/69 failed for good)."""
        result = self.smtpq("flush", *args, cwd=cwd)
        assert result.returncode in FLUSH_STATUSES, result.stderr.decode()
        return result

    def start_flush(self, *args: str) -> subprocess.Popen[bytes]:
        """``smtpq flush ARGS`` without waiting for it."""
        return subprocess.Popen([SMTPQ, "flush", *args], env=self.env, cwd=self.root,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    # -- the queue ---------------------------------------------------------------
    @contextlib.contextmanager
    def store(self) -> Iterator[Any]:
        from smtpq.queue.store.sql.store import open_store

        with open_store(self.url) as store:
            yield store

    def messages(self, *statuses: str) -> list[Any]:
        """Summaries of the messages in *statuses* (default: all), in id order."""
        from smtpq.queue.states import MessageStatus

        wanted = [MessageStatus(s) for s in statuses] or list(MessageStatus)
        if self.url == f"sqlite:///{self.database}" and not self.database.exists():
            return []  # no queue yet (and reading must not create one)
        with self.store() as store:
            return store.list_messages(wanted)

    def statuses(self) -> dict[int, str]:
        return {m.id: m.status.value for m in self.messages()}

    def wait_for_claims_to_lapse(self, statuses: dict[int, str]) -> None:
        """Wait until the lease on every mail *statuses* shows ``sending`` has run out."""
        lapse = max(self.detail(i).claim_expires for i, s in statuses.items() if s == "sending")
        wait_until(lambda: datetime.now(UTC) > lapse, timeout=5, message="the claims to lapse")

    def flush_lock_free(self) -> bool:
        """Whether no flusher (nor a worker of one) holds this queue's per-host flush lock."""
        import fcntl

        from smtpq.queue.flush.lock import lock_path

        try:
            fd = os.open(lock_path(self.url, self.env), os.O_RDONLY)
        except FileNotFoundError:
            return True
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        finally:
            os.close(fd)  # closing our own descriptor lets our flock go
        return True

    def detail(self, message_id: int) -> Any:
        with self.store() as store:
            detail = store.get_message(message_id)
        assert detail is not None, f"message {message_id} is gone"
        return detail

    def stored(self, message_id: int) -> bytes:
        """The mail as the queue keeps it."""
        with self.store() as store, store.open_content(message_id) as content:
            return content.read()

    # -- background flushers -----------------------------------------------------
    def flushers(self) -> set[int]:
        """Pids of live ``smtpq flush --background`` processes working on this queue."""
        found = set()
        marker = f"SMTPQ_DATABASE={self.url}".encode()
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
                if b"--background" not in cmdline or b"flush" not in cmdline:
                    continue
                if marker in Path(f"/proc/{entry}/environ").read_bytes().split(b"\0"):
                    found.add(int(entry))
            except OSError:
                continue  # gone meanwhile, or not ours
        return found

    def kill_flushers(self) -> None:
        for pid in self.flushers():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def wait_until(condition: Callable[[], Any], *, timeout: float = 10.0,
               interval: float = 0.05, message: str = "condition") -> Any:
    """Poll *condition* until it is truthy; its value.  Fails the test after *timeout*."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {message}")
        time.sleep(interval)


@pytest.fixture
def queue_home(tmp_path: Path) -> Iterator[QueueHome]:
    home = QueueHome(tmp_path)
    yield home
    home.kill_flushers()


@pytest.fixture
def server_at(tls_material: TlsMaterial) -> Iterator[Callable[..., SmtpServer]]:
    """Start an aiosmtpd server on 127.0.0.1 at *port* (None: any free one); stopped, and a
    held ``SlowHandler`` released, when the test ends."""
    servers: list[SmtpServer] = []

    def start(port: int | None = None, **options: Any) -> SmtpServer:
        server = SmtpServer(tls_material, **options)
        if port is not None:
            server.port = server.controller.port = port
        servers.append(server.start())
        return server

    yield start
    for server in servers:
        if isinstance(server.handler, SlowHandler):
            server.handler.release()
        server.stop()


# -- mails --------------------------------------------------------------------

def sample_mail(number: int, *, bcc: bool = True) -> bytes:
    """Mail *number*: From/To/Subject (no Date, no Message-ID), maybe a Bcc, and a body
    with what a wire encoder must get right: lines starting with dots, a lone dot,
    8-bit text, a long line, and (every third mail) no newline at the very end."""
    head = [b"From: Me <me@example.org>", f"To: to{number}@example.net".encode(),
            f"Subject: mail {number}".encode()]
    if bcc:
        head.append(f"Bcc: hidden{number}@example.net".encode())
    body = [f"body of mail {number}".encode(), b".leading dot", b"..two dots", b".",
            "8-bit: Grüße, ½ €".encode(), b"x" * 900, b"", b"last line"]
    text = b"\n".join(head) + b"\n\n" + b"\n".join(body)
    return text if number % 3 == 0 else text + b"\n"


def without_headers(mail: bytes, *names: str) -> bytes:
    """*mail* (LF line ends) without the header fields *names* (with their continuation lines)."""
    head, sep, body = mail.partition(b"\n\n")
    kept, dropping = [], False
    wanted = tuple(name.lower().encode() + b":" for name in names)
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t"):
            if not dropping:
                kept.append(line)
            continue
        dropping = line.lower().startswith(wanted)
        if not dropping:
            kept.append(line)
    return b"\n".join(kept) + sep + body


# -- servers that take their time ----------------------------------------------

class SlowHandler(RecordingHandler):
    """Records like ``RecordingHandler``, but answers the end of data after *delay* seconds;
    the mail number *pause_at* (1-based, once) is held until ``release()``.

    ``paused`` is set when the held mail has arrived in full: a client killed
    then dies mid-transaction, with the server holding the mail.
    """

    def __init__(self, *, delay: float = 0.0, pause_at: int | None = None, **replies: Any) -> None:
        super().__init__(**replies)
        self.delay = delay
        self.pause_at = pause_at
        self.paused = threading.Event()
        self.released = threading.Event()

    def release(self) -> None:
        self.released.set()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        reply = await super().handle_DATA(server, session, envelope)
        if len(self.messages) == self.pause_at and not self.paused.is_set():
            self.paused.set()
            while not self.released.is_set():
                await asyncio.sleep(0.02)
        elif self.delay:
            await asyncio.sleep(self.delay)
        return reply
