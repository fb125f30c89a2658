"""Shared by the ``smtpq`` command tests: a real queue in ``tmp_path``, and ways to run smtpq.

``queue`` (fixture) points ``$SMTPQ_DATABASE`` at a fresh SQLite file and
returns a ``QueueBuilder``, which enqueues through the sendmail path's own
``enqueue_message`` and then drives each message to a state with the store's
methods, as a flusher would: the commands see exactly what real use leaves.

``smtpq(*args)`` runs the click group in-process (``CliRunner``, tracebacks
on, so a bug fails loudly instead of becoming "internal error");
``run_program``/``run_in_pty`` run the installed console script.
"""

from __future__ import annotations

import io
import os
import pty
import select
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from smtpq.cli.main import cli
from smtpq.queue.enqueue.submit import enqueue_message
from smtpq.queue.new_message import NewMessage
from smtpq.queue.records import AttemptRecord, RecipientResult
from smtpq.queue.store.sql.store import open_store
from smtpq.sender.delivery.outcome import RecipientStatus

#: The installed console script (next to the venv's python).
SMTPQ = Path(sys.executable).with_name("smtpq")
HOUR = timedelta(hours=1)
LEASE = timedelta(minutes=5)


def log_line(exit_name: str, status: int, reply: str) -> str:
    """A delivery log line in msmtp's format."""
    return (f"host=mx.example.org tls=on auth=on user=me from=me@example.org "
            f"recipients=you@example.net mailsize=120 smtpstatus={status} "
            f"smtpmsg='{reply}' exitcode={exit_name}")


class QueueBuilder:
    """Puts messages into a real queue database, in any state, with history."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.now = datetime.now(UTC)

    def create(self) -> QueueBuilder:
        """Create the (empty) queue database."""
        open_store(self.url).close()
        return self

    def queued(self, *recipients: str, sender: str = "me@example.org", account: str = "default",
               body: bytes = b"Subject: test\r\n\r\nhello\r\n", age: timedelta = HOUR,
               subject: str | None = "test") -> int:
        message = NewMessage(account=account, envelope_from=sender,
                             recipients=recipients or ("you@example.net",), options=("-t", "-i"),
                             subject=subject, msgid="<test@example.org>")
        return enqueue_message(self.url, message, io.BytesIO(body), now=self.now - age)

    def deferred(self, *recipients: str, retry_in: timedelta = timedelta(minutes=4),
                 **fields: object) -> int:
        message_id = self._claimed(*recipients, **fields)
        reply = "451 4.7.1 Greylisted, try again later"
        with open_store(self.url) as store:
            store.defer(message_id, self.now, self.now + retry_in,
                        attempt=self._attempt(75, "EX_TEMPFAIL", 451, reply))
        return message_id

    def sent(self, *recipients: str, **fields: object) -> int:
        message_id = self._claimed(*recipients, **fields)
        reply = "250 2.0.0 Ok: queued as 4XyZ"
        with open_store(self.url) as store:
            store.mark_sent(message_id, self.now, attempt=self._attempt(0, "EX_OK", 250, reply))
        return message_id

    def failed(self, *recipients: str, **fields: object) -> int:
        message_id = self._claimed(*recipients, **fields)
        reply = "550 5.1.1 User unknown"
        with open_store(self.url) as store:
            store.fail(message_id, self.now, attempt=self._attempt(69, "EX_UNAVAILABLE", 550, reply),
                       results=[RecipientResult(0, RecipientStatus.FAILED, 550, reply)])
        return message_id

    def expired(self, *recipients: str, **fields: object) -> int:
        message_id = self._claimed(*recipients, **fields)
        reply = "421 4.3.2 Too busy"
        with open_store(self.url) as store:
            store.expire(message_id, self.now, attempt=self._attempt(75, "EX_TEMPFAIL", 421, reply))
        return message_id

    def sending(self, *recipients: str, holder: str = "flusher-1", **fields: object) -> int:
        """A message claimed by the flusher named *holder* (``claimed_by``)."""
        return self._claimed(*recipients, holder=holder, **fields)

    def _claimed(self, *recipients: str, holder: str = "flusher-1", **fields: object) -> int:
        message_id = self.queued(*recipients, **fields)  # type: ignore[arg-type]
        with open_store(self.url) as store:
            claimed = store.claim_due(self.now, limit=1, worker_id=holder, lease=LEASE,
                                      ids=[message_id])
        assert [message.id for message in claimed] == [message_id]
        return message_id

    def _attempt(self, code: int, name: str, status: int, reply: str) -> AttemptRecord:
        return AttemptRecord(started=self.now - timedelta(seconds=2), finished=self.now,
                             exit_code=code, smtp_status=status, smtp_message=reply,
                             log_line=log_line(name, status, reply))


def queue_environment(tmp_path: Path) -> dict[str, str]:
    """The environment that makes smtpq use a queue in *tmp_path* and no user settings."""
    return {
        "SMTPQ_DATABASE": f"sqlite:///{tmp_path / 'queue' / 'queue.sqlite3'}",
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "SMTPQ_TRACEBACK": "1",
    }


@pytest.fixture
def queue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> QueueBuilder:
    """A queue that every ``smtpq`` run in this test uses (its database is created by
    the first message, or by ``QueueBuilder.create``: one named by ``$SMTPQ_DATABASE``
    that does not exist is an error, not an empty queue)."""
    for name, value in queue_environment(tmp_path).items():
        monkeypatch.setenv(name, value)
    for name in ("SMTPQ_CONFIG", "COLUMNS", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)
    return QueueBuilder(os.environ["SMTPQ_DATABASE"])


def smtpq(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
    """``smtpq ARGS`` in-process; stdout and stderr kept apart."""
    return CliRunner().invoke(cli, list(args), input=input, env=env, catch_exceptions=False)


def run_program(program: Path | str, *args: str, stdin: bytes = b"",
                env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    """The installed program as a real process (environment: this one plus *env*)."""
    full_env = {**os.environ, **(env or {})}
    full_env.pop("SMTPQ_TRACEBACK", None)  # as a user runs it: no tracebacks, ever
    return subprocess.run([str(program), *args], input=stdin, capture_output=True,
                          env=full_env, timeout=60, check=False)


def run_in_pty(args: Sequence[str], *, answer: bytes | None = None,
               env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run smtpq with a terminal as stdin, stdout and stderr; type *answer* at the first
    prompt (``?``).  Returns the exit code and everything the terminal showed."""
    master, slave = pty.openpty()
    full_env = {**os.environ, **(env or {}), "COLUMNS": "200"}
    process = subprocess.Popen([str(SMTPQ), *args], stdin=slave, stdout=slave, stderr=slave,
                               env=full_env, close_fds=True)
    os.close(slave)
    shown = b""
    for chunk in _read_until_closed(master):
        shown += chunk
        if answer is not None and b"?" in shown:
            os.write(master, answer)
            answer = None
    os.close(master)
    return process.wait(timeout=30), shown.decode(errors="replace")


def _read_until_closed(master: int, timeout: float = 30.0) -> Iterator[bytes]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.1)
        if not ready:
            continue
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the child closed the terminal
            return
        if not chunk:
            return
        yield chunk
    raise AssertionError("smtpq did not finish in a terminal")
