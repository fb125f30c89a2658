"""Offline is found out by trying SMTP itself, quickly, in one line, and never with ``ping``.

msmtpq's online test is ``ping`` (reference §0.11, §7.2): wrong where ICMP is
blocked, slow where it is not answered.  smtpq's flush just connects.  With
``ping`` (and ``ping6``, ``fping``) replaced on ``$PATH`` by stubs that record
any call, and the account's server refusing connections or not resolvable
(``.invalid``, RFC 6761 §6.4):

* ``smtpq flush`` on a terminal returns 75 (EX_TEMPFAIL) within 2 s and says so in
  exactly one line; without a terminal (a systemd unit's journal) the same one
  ``offline: …`` line, and nothing with ``--quiet`` (the cron line);
* the mail stays queued (not deferred: no back-off used up), with msmtp's exit
  code in its history (75 refused, 68 unknown host);
* neither that flush nor the background flush after an enqueue runs a stub.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.support.queue_home import QueueHome, closed_port, wait_until

PINGS = ("ping", "ping6", "fping")
MAIL = b"Subject: offline\n\nhello\n"


def _on_a_terminal(home: QueueHome, *args: str) -> tuple[int, bytes]:
    """Run ``smtpq ARGS`` with stdout and stderr on a pseudo-terminal; exit code and output."""
    import os
    import pty
    import subprocess

    from tests.support.programs import venv_script

    master, slave = pty.openpty()
    proc = subprocess.Popen([venv_script("smtpq"), *args], stdout=slave, stderr=slave,
                            stdin=subprocess.DEVNULL, env=home.env)
    os.close(slave)
    output = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        output += chunk
    os.close(master)
    return proc.wait(timeout=30), output.replace(b"\r\n", b"\n")


def stub_pings(home: QueueHome) -> Path:
    """Stubs for the ping programs, first on the home's ``$PATH``; the file they write to."""
    bin_dir, record = home.root / "stub-bin", home.root / "ping-calls"
    bin_dir.mkdir()
    for name in PINGS:
        stub = bin_dir / name
        stub.write_text(f'#!/bin/sh\necho "{name} $*" >> {record}\nexit 0\n')
        stub.chmod(0o755)
    home.env["PATH"] = f"{bin_dir}:{home.env.get('PATH', '/usr/bin:/bin')}"
    return record


@pytest.mark.parametrize(("host", "port", "exit_code"), [
    ("127.0.0.1", None, 75),  # connection refused: EX_TEMPFAIL
    ("smtp.no-such-host.invalid", 587, 68),  # unknown host: EX_NOHOST
], ids=["refused", "unresolvable"])
def test_flush_against_an_unreachable_server(queue_home: QueueHome, host: str,
                                             port: int | None, exit_code: int) -> None:
    record = stub_pings(queue_home)
    queue_home.write_msmtprc(f"account default\nhost {host}\nport {port or closed_port()}\n"
                             "from me@example.org\ntimeout 30\n")
    queue_home.sendmail(MAIL, "a@example.net")
    queue_home.sendmail(MAIL, "b@example.net")

    started = time.monotonic()
    code, output = _on_a_terminal(queue_home, "flush")
    elapsed = time.monotonic() - started

    assert code == 75  # EX_TEMPFAIL: nothing lost, try again later
    assert elapsed < 2.0
    # What stays on the screen: each line's text after its last carriage return
    # (the progress line is redrawn in place, then erased).
    shown = [line.split("\r")[-1].replace("\x1b[K", "") for line in output.decode().split("\n")]
    lines = [line for line in shown if line.strip()]
    assert len(lines) == 1 and "offline" in lines[0], lines
    for message in queue_home.messages():
        detail = queue_home.detail(message.id)
        assert detail.status.value == "queued"
        assert [h.exit_code for h in detail.history] == [exit_code]
    journal = queue_home.smtpq("flush")  # no terminal: a systemd unit's journal
    assert (journal.returncode, journal.stdout) == (75, b"")
    (said,) = journal.stderr.decode().splitlines()
    assert said.startswith("offline: ") and "2 message(s) stay queued" in said
    quiet = queue_home.smtpq("flush", "--quiet")  # the cron line: mails any output
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (75, b"", b"")
    assert not record.exists(), record.read_text()


def test_the_background_flush_after_enqueue_does_not_ping(queue_home: QueueHome) -> None:
    record = stub_pings(queue_home)
    queue_home.account(closed_port())
    queue_home.configure(after_enqueue="flush")
    queue_home.sendmail(MAIL, "a@example.net")

    wait_until(lambda: queue_home.messages() and queue_home.detail(1).history,
               message="the background flush's attempt")
    wait_until(lambda: not queue_home.flushers(), message="the background flush to end")
    assert queue_home.detail(1).status.value == "queued"
    assert not record.exists(), record.read_text()
