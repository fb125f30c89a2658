"""The fault matrix: every protocol step × every way a server can fail, through the queue's flush.

For each cell one mail is queued and flushed (``run_flush``, in-process)
against :class:`tests.support.faults.FaultServer` with the fault armed.  The
account uses STARTTLS, a trust file and AUTH, so every step happens, and
``timeout 1`` keeps stalls short.  The test asserts:

* the message's status after the faulty attempt, the exit code msmtp would
  have given (recorded in its history) and msmtp's log line (also the last
  line of the account's logfile);
* then, with the server healed, a second flush: a temporarily failed mail is
  delivered, a permanently failed one stays failed and is never sent;
* nothing lost, nothing delivered twice, except inside the documented window
  (RFC 5321 §3.8): the server took the mail but its 250 never reached us
  (``eod``/``drop_after_accept``; an end-of-data 250 we cannot parse), where
  the retry delivers a second copy.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from smtpq.queue.flush.flusher import FlushRequest, run_flush
from smtpq.queue.new_message import NewMessage
from smtpq.queue.settings import AfterEnqueue, QueueSettings
from tests.support.certs import TlsMaterial
from tests.support.faults import CODES, FaultServer, cells
from tests.support.queue_home import QueueHome

PASSWORD = "s3cret-pw"
_serial = itertools.count(1)

#: msmtp's wording per step (reference §4.3), for a reply-code fault.
_REFUSED = {
    "greeting": "cannot get initial OK message from server",
    "ehlo": "SMTP server does not accept EHLO or HELO commands",
    "starttls": "command STARTTLS failed",
    "auth": "authentication failed (method PLAIN)",
    "mail": "envelope from address me@example.org not accepted by the server",
    "rcpt": "recipient address you@example.net not accepted by the server",
    "data": "the server does not accept mail data",
    "eod": "the server did not accept the mail",
}


class World:
    """One queue, one fault server and one account for the whole module."""

    def __init__(self, root: Path, tls: TlsMaterial) -> None:
        self.home = QueueHome(root)
        self.server = FaultServer(tls, credentials={"me": PASSWORD}, stall=2.5)
        self.logfile = root / "msmtp.log"
        self.home.account(self.server.port, "tls on", "tls_starttls on",
                          f"tls_trust_file {tls.ca_file}", "auth on", "user me",
                          f"password {PASSWORD}", "timeout 1", logfile=self.logfile)
        self.settings = QueueSettings(self.home.url, after_enqueue=AfterEnqueue.NONE)

    def enqueue(self, tag: str) -> int:
        mail = f"From: me@example.org\r\nTo: you@example.net\r\nSubject: {tag}\r\n\r\n{tag}\r\n"
        message = NewMessage("default", "me@example.org", ("you@example.net",),
                             subject=tag, msgid=f"<{tag}@test>")
        with self.home.store() as store:
            return store.enqueue(message, [mail.encode()])

    def flush(self, message_id: int) -> None:
        report = run_flush(self.settings, FlushRequest(ids={message_id}, ignore_backoff=True),
                           env=self.home.env)
        assert not report.skipped

    def copies(self, tag: str) -> int:
        return sum(tag.encode() in mail for mail in self.server.accepted)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, tls_material: TlsMaterial) -> Iterator[World]:
    made = World(tmp_path_factory.mktemp("faults"), tls_material)
    yield made
    made.server.heal()
    made.server.stop()


def expected(step: str, fault: str) -> tuple[str, int | tuple[int, ...], str, int]:
    """(status after the faulty flush, exit code, log line fragment, copies the server took)."""
    if step == "quit":
        return "sent", 0, "exitcode=EX_OK", 1  # the mail was taken before QUIT went wrong
    if fault == "drop_after_accept":
        return "deferred", 74, "exitcode=EX_IOERR", 1  # taken, but we never heard the 250
    if fault in CODES:
        code = int(fault)
        if step == "auth":
            return "deferred", 77, f"smtpstatus={code}", 0  # fixable: retried (SPEC)
        if fault == "421" and step in ("ehlo", "mail", "rcpt"):
            # 421 closes the channel (RFC 5321 §3.8), and the client has already sent
            # its next command (HELO after a refused EHLO, as msmtp; the pipelined
            # RCPT/DATA): what it reads next is a broken connection or no reply.
            return "deferred", (74, 76), "exitcode=EX_", 0
        # A session refused (greeting, EHLO, STARTTLS) says nothing about the mail:
        # deferred even on 5xx.  In a transaction, 5xx fails it (RFC 5321 §4.2.1).
        session = step in ("greeting", "ehlo", "starttls")
        status = "failed" if code >= 500 and not session else "deferred"
        exit_code = {"greeting": 76, "ehlo": 76, "starttls": 76, "eod": 69}.get(
            step, 65 if code >= 500 else 69)
        return status, exit_code, f"smtpstatus={code} smtpmsg='{code} ", 0
    if fault in ("close",):
        if step in ("greeting", "ehlo", "starttls"):
            return "deferred", 76, "errormsg='the server sent an empty reply'", 0
        return "deferred", 74, "exitcode=EX_IOERR", 0
    if fault == "stall":
        return "deferred", 74, "errormsg='network read error: the operation timed out'", 0
    if fault in ("malformed", "overlong"):
        taken = 1 if (step, fault) == ("eod", "overlong") else 0  # it did say 250
        return "deferred", 76, "errormsg='the server sent an invalid reply'", taken
    # TLS: a failed handshake or a certificate that does not verify.
    return "deferred", 76 if fault == "handshake" else 69, "exitcode=EX_", 0


@pytest.mark.parametrize(("step", "fault"), cells(), ids=[f"{s}-{f}" for s, f in cells()])
def test_fault(world: World, step: str, fault: str) -> None:
    tag = f"cell-{next(_serial)}-{step}-{fault}"
    message_id = world.enqueue(tag)
    status, exit_code, fragment, copies = expected(step, fault)

    world.server.inject(step, fault)
    try:
        world.flush(message_id)
    finally:
        world.server.heal()

    detail = world.home.detail(message_id)
    attempt = detail.history[-1]
    assert detail.status.value == status, attempt.log_line
    assert attempt.exit_code in (exit_code if isinstance(exit_code, tuple) else (exit_code,)), \
        attempt.log_line
    assert fragment in attempt.log_line
    if fault in CODES and step in _REFUSED and fragment.startswith("smtpstatus"):
        assert _REFUSED[step] in attempt.log_line
    assert world.logfile.read_text().splitlines()[-1].endswith(attempt.log_line)
    assert PASSWORD not in attempt.log_line
    assert world.copies(tag) == copies

    # Healed: a temporary failure is delivered now; a permanent one is never sent.
    world.flush(message_id)
    final = world.home.detail(message_id).status.value
    if status == "failed":
        assert final == "failed" and world.copies(tag) == 0
    else:
        assert final == "sent"
        # Exactly once, but for the window where the server took it unheard.
        assert world.copies(tag) == 1 + copies if status == "deferred" else 1
