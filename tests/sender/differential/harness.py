"""Running msmtp and ``smtpq-sendmail --send-now`` side by side against one server.

* :class:`WireRecorder` — a scripted server (``tests.support.scripted``) that
  records every command line and the DATA bytes *as sent* (dot-stuffed,
  CRLF), answers what it is told to (per command, per exact line, ``.``),
  and can hang up, stall or greet with an error;
* :class:`Target` — a started server plus what each run left on it;
* :func:`run_program` — one program run in a private HOME with a C locale;
  stderr lines get ``PROG: `` for the program name, the log file is read
  back without its time stamp (``--logfile-time-format=T``);
* :func:`mask_mail` — Date and Message-ID *values* masked (they differ by run).
"""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.support.scripted import Peer

HANGUP = "<hang up>"
STALL_SECONDS = 3.0
RECORDER_EHLO = ("PIPELINING", "8BITMIME", "SIZE 10240000")


class WireRecorder:
    """A scripted SMTP server recording the exact wire traffic of each connection."""

    def __init__(self, *, greeting: str = "220 recorder ESMTP",
                 ehlo: tuple[str, ...] = RECORDER_EHLO, replies: dict[str, str] | None = None,
                 stall: bool = False) -> None:
        self.greeting = greeting
        self.ehlo = ehlo
        self.replies = replies or {}
        self.stall = stall
        self.connections: list[list[Any]] = []

    def __call__(self, peer: Peer) -> None:
        record: list[Any] = []
        self.connections.append(record)
        if self.stall:
            time.sleep(STALL_SECONDS)
            return
        peer.send(*self.greeting.split("\n"))
        if not self.greeting.startswith("220"):
            while peer.line():
                pass
            return
        self._dialogue(peer, record)

    def _reply(self, line: str, default: str) -> str:
        for key in (line, line[:4].upper(), line.split(" ")[0].upper()):
            if key in self.replies:
                return self.replies[key]
        return default

    def _dialogue(self, peer: Peer, record: list[Any]) -> None:
        accepted = 0  # RCPTs accepted in the current transaction
        while line := peer.line():
            record.append(line)
            verb = line[:4].upper()
            if verb in ("EHLO", "LHLO"):
                names = ["recorder", *self.ehlo]
                default = "\n".join(f"250-{x}" for x in names[:-1]) + f"\n250 {names[-1]}"
            else:
                # RFC 2920 §3.1: DATA without a valid recipient must fail (Postfix's words)
                data = "354 go ahead" if accepted else "554 5.5.1 Error: no valid recipients"
                default = {"DATA": data, "QUIT": "221 2.0.0 bye",
                           "MAIL": "250 2.1.0 ok", "RCPT": "250 2.1.5 ok"}.get(verb, "250 ok")
            reply = self._reply(line, default)
            if reply == HANGUP:
                return
            peer.send(*reply.split("\n"))
            if verb in ("MAIL", "RSET", "DATA"):
                accepted = 0
            elif verb == "RCPT" and reply.startswith("25"):
                accepted += 1
            if verb == "QUIT":
                return
            if verb == "DATA" and reply.startswith("354") and not self._data(peer, record):
                return

    def _data(self, peer: Peer, record: list[Any]) -> bool:
        record.append(("DATA", peer.data()))
        final = self.replies.get(".", "250 2.0.0 queued as 42")
        if final == HANGUP:
            return False
        peer.send(*final.split("\n"))
        return True


@dataclasses.dataclass
class Target:
    """A started server: where it is, and what each run left on it."""

    port: int
    snapshot: Callable[[], list[Any]]  # everything recorded so far, in order
    args: tuple[str, ...] = ()  # connection options for the command line
    ca_file: str = ""


@dataclasses.dataclass
class Run:
    returncode: int
    stdout: str
    stderr: list[str]
    log: list[str]
    server: list[Any]  # what the server recorded during this run


def program_env(home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {"HOME": str(home), "PATH": os.environ["PATH"], "USER": "tester", "LOGNAME": "tester",
           "HOSTNAME": "testhost", "LANG": "C", "LC_ALL": "C", "TZ": "UTC",
           "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"}
    env.update(extra or {})
    return env


def run_program(argv: list[str], *, stdin: bytes, home: Path, target: Target | None,
                tag: str, log: bool = True, env: dict[str, str] | None = None) -> Run:
    """Run *argv* (program first) once; see the module docstring."""
    logfile = home / f"{tag}.log"
    extra = [f"--logfile={logfile}", "--logfile-time-format=T"] if log else []
    before = len(target.snapshot()) if target else 0
    proc = subprocess.run([argv[0], *argv[1:], *extra], input=stdin, capture_output=True,
                          env=program_env(home, env), cwd=home, timeout=60, check=False)
    time.sleep(0.05)  # let the server thread record the end of the session
    server = target.snapshot()[before:] if target else []
    return Run(proc.returncode, proc.stdout.decode("utf-8", "replace"),
               prefixed(proc.stderr.decode("utf-8", "replace"), argv[0]),
               _log_lines(logfile), server)


def prefixed(stderr: str, argv0: str) -> list[str]:
    """stderr lines with the program name replaced by ``PROG``."""
    names = (argv0, os.path.basename(argv0))
    out = []
    for line in stderr.splitlines():
        for name in names:
            if line.startswith(name + ": "):
                line = "PROG: " + line[len(name) + 2:]
                break
        out.append(line)
    return out


def _log_lines(path: Path) -> list[str]:
    if not path.exists():
        return []
    return [line.removeprefix("T ") for line in path.read_text("utf-8").splitlines()]


_STAMPS = re.compile(rb"(?im)^(Date|Message-ID): [^\r\n]*")


def mask_mail(data: bytes) -> bytes:
    """Date and Message-ID values replaced (both programs stamp them per run)."""
    return _STAMPS.sub(rb"\1: MASKED", data)


def mask_record(record: list[Any]) -> list[Any]:
    """A server record with the DATA bytes masked."""
    return [("DATA", mask_mail(x[1])) if isinstance(x, tuple) else x for x in record]


def mask_transcript(stdout: str) -> str:
    """A --debug stdout with per-run values and known deliberate differences masked."""
    lines = []
    for line in stdout.splitlines():
        if line.startswith("set_msgid_header = "):
            continue  # smtpq shows it (msmtp 1.8.23 forgets it: reference §0.10)
        line = re.sub(r"^(--> )(Date|Message-ID): .*", r"\1\2: MASKED", line)
        line = re.sub(r"^(--> AUTH \S+) \S+$", r"\1 CREDENTIALS", line)
        lines.append(line)
    return "\n".join(lines)
