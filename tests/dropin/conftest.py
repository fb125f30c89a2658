"""Fixtures for the drop-in tests: real mail programs sending through smtpq to a local server.

* ``mailhome`` — a :class:`tests.support.queue_home.QueueHome` whose default
  account reaches a fresh aiosmtpd server on 127.0.0.1 (``mailhome.server``)
  with ``after_enqueue = "flush"``, so mail leaves by itself as it would on a
  user's machine; ``mailhome.arrived(n)`` waits for the server to hold *n*
  mails and returns them parsed.
* ``linked`` — ``smtpq link --prefix TMP`` done for real: ``linked.sendmail``
  is ``TMP/sbin/sendmail`` and ``linked.path`` a ``$PATH`` that finds it (and
  ``mailq``) first.
* ``queue_home``, ``server_at`` — from :mod:`tests.support.queue_home`;
* ``need(program, package)`` — the path of a program from a Debian package;
  skips when it is missing, but fails when ``CI=true`` (``scripts/setup``
  installs ``scripts/apt-packages-dropin.txt``).
"""

from __future__ import annotations

import dataclasses
import email
import email.message
import email.policy
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest

from tests.support.aiosmtpd_server import Received, SmtpServer
from tests.support.programs import needs
from tests.support.queue_home import (  # noqa: F401 - queue_home, server_at: fixtures
    SMTPQ,
    QueueHome,
    crlf_undone,
    queue_home,
    server_at,
    wait_until,
)

#: How long a mail may take from the program's exit to the server (background flush).
ARRIVAL_TIMEOUT = 20.0


def need(program: str, package: str) -> str:
    """The absolute path of *program*; skip (locally) or fail (CI) without it."""
    path = shutil.which(program)
    if path is None:
        missing(f"{program} (Debian package {package})")
    return path


def missing(what: str) -> NoReturn:
    needs(False, f"needs {what}")
    raise AssertionError("unreachable: needs(False, …) skips or fails")


def parsed(received: Received) -> email.message.EmailMessage:
    """A received mail as an ``EmailMessage`` (RFC 5322 + MIME, modern policy), read with
    the local line ends the sending program used (SMTP's CRLF undone)."""
    message = email.message_from_bytes(crlf_undone(received.data), policy=email.policy.default)
    assert isinstance(message, email.message.EmailMessage)
    return message


class MailHome(QueueHome):
    """A QueueHome whose default account sends to ``self.server``; see the module doc."""

    server: SmtpServer

    def arrived(self, count: int, timeout: float = ARRIVAL_TIMEOUT) -> list[Received]:
        """The first *count* mails the server got, once it has them all."""
        try:
            wait_until(lambda: len(self.server.messages) >= count, timeout=timeout)
        except pytest.fail.Exception:
            pytest.fail(f"{len(self.server.messages)} of {count} mail(s) reached the server "
                        f"in {timeout} s; the queue: {self.statuses()}")
        return list(self.server.messages[:count])

    def with_path(self, *directories: str | Path) -> dict[str, str]:
        """The environment with *directories* first on ``$PATH``."""
        env = dict(self.env)
        env["PATH"] = os.pathsep.join([*map(str, directories), env.get("PATH", "/usr/bin:/bin")])
        return env

    def program(self, argv: list[str], *, stdin: bytes = b"", env: dict[str, str] | None = None,
                cwd: Path | None = None, timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
        """Run a mail program in this HOME; it must succeed."""
        result = subprocess.run(argv, input=stdin, capture_output=True, env=env or self.env,
                                cwd=cwd or self.root, timeout=timeout, check=False)
        assert result.returncode == 0, (argv, result.stdout.decode(), result.stderr.decode())
        return result


@pytest.fixture
def mailhome(tmp_path: Path, server_at) -> Iterator[MailHome]:  # noqa: F811 - fixture use
    home = MailHome(tmp_path)
    home.server = server_at()
    home.account(home.server.port)
    home.configure(after_enqueue="flush")
    yield home
    home.kill_flushers()


@dataclasses.dataclass
class Linked:
    """``smtpq link --prefix prefix`` done: where the links are."""

    prefix: Path

    @property
    def sendmail(self) -> Path:
        return self.prefix / "sbin" / "sendmail"

    @property
    def mailq(self) -> Path:
        return self.prefix / "bin" / "mailq"

    @property
    def dirs(self) -> list[Path]:
        return [self.prefix / "sbin", self.prefix / "bin"]


@pytest.fixture
def linked(mailhome: MailHome) -> Linked:
    prefix = mailhome.root / "usr"
    result = mailhome.run([SMTPQ, "link", "--prefix", str(prefix)])
    assert result.returncode == 0, result.stderr.decode()
    return Linked(prefix)
