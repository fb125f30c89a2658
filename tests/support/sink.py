"""Postfix's ``smtp-sink`` on a free 127.0.0.1 port, stopped by its PID.

Options map to smtp-sink flags: ``no_esmtp`` (-e, EHLO refused),
``no_pipelining`` (-p), ``lmtp`` (-L), ``hard_reject``/``soft_reject`` (-f/-r:
commands answered 5xx/4xx, e.g. ``("RCPT",)``), ``disconnect`` (-q).  Each mail
is dumped (-d) into ``directory``; ``messages()`` returns the dump files.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

from smtpq.sender.config.settings import Account, Protocol
from tests.support.aiosmtpd_server import free_port

SMTP_SINK = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"


class SmtpSink:
    def __init__(self, directory: Path, *, no_esmtp: bool = False, no_pipelining: bool = False,
                 lmtp: bool = False, hard_reject: tuple[str, ...] = (),
                 soft_reject: tuple[str, ...] = (), disconnect: tuple[str, ...] = ()) -> None:
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self.lmtp = lmtp
        self.port = free_port()
        flags = [("-e", no_esmtp), ("-p", no_pipelining), ("-L", lmtp)]
        self.args = [SMTP_SINK, *(flag for flag, on in flags if on)]
        for flag, commands in (("-f", hard_reject), ("-r", soft_reject), ("-q", disconnect)):
            if commands:
                self.args += [flag, ",".join(commands)]
        if os.geteuid() == 0:
            self.args += ["-u", "root"]
        self.args += ["-d", f"{directory}/%Y%m%d%H%M%S.", f"127.0.0.1:{self.port}", "100"]
        self.process: subprocess.Popen[bytes] | None = None

    @staticmethod
    def available() -> bool:
        return os.access(SMTP_SINK, os.X_OK)

    def start(self) -> SmtpSink:
        self.process = subprocess.Popen(self.args, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError as exc:
                if self.process.poll() is not None:
                    stderr = self.process.stderr.read().decode()  # type: ignore[union-attr]
                    raise RuntimeError(stderr) from exc
                time.sleep(0.05)
        raise RuntimeError("smtp-sink did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, 15)
            self.process.wait(timeout=10)

    def messages(self, count: int = 1, wait: float = 5.0) -> list[bytes]:
        """The dump files' contents (envelope records, then the mail), oldest first."""
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            files = sorted(self.directory.iterdir(), key=lambda p: p.stat().st_mtime)
            if len(files) >= count:
                time.sleep(0.1)  # let smtp-sink finish writing
                return [p.read_bytes() for p in files]
            time.sleep(0.05)
        return [p.read_bytes() for p in sorted(self.directory.iterdir())]

    def account(self, **overrides: object) -> Account:
        settings: dict[str, object] = {"host": "127.0.0.1", "port": self.port, "timeout": 10}
        if self.lmtp:
            settings["protocol"] = Protocol.LMTP
        settings.update(overrides)
        return Account(**settings)  # type: ignore[arg-type]
