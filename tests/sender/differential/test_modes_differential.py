"""``--serverinfo``, ``--rmqs``, ``--pretend`` and ``--debug`` output as msmtp 1.8.23 prints it.

Both programs run against the same server; exit code, stderr and stdout must
agree (and the commands the server saw).  Masked: Date/Message-ID values and
AUTH payloads in transcripts (smtpq redacts them, deliberately), the
``set_msgid_header`` line msmtp 1.8.23 forgets, and the TLS "session
parameters" line (GnuTLS names the key exchange and signature algorithms,
Python's ``ssl`` cannot: ``tls/certinfo.py``).
"""

from __future__ import annotations

import dataclasses
import re

import pytest

from tests.sender.differential.harness import mask_transcript, run_program
from tests.sender.differential.servers import Aio, Nothing, Recorder
from tests.support.programs import msmtp_binary, smtpq_sendmail

pytestmark = pytest.mark.msmtp

ALL_CAPS = ("SIZE 10240000", "PIPELINING", "ETRN", "DSN", "STARTTLS", "8BITMIME", "SMTPUTF8",
            "ENHANCEDSTATUSCODES", "AUTH PLAIN LOGIN CRAM-MD5 SCRAM-SHA-256 XOAUTH2")
ETRN = ("PIPELINING", "ETRN")
MAIL = b"Subject: debug\n\nbody\n"
SEND = ("-f", "alice@example.org", "bob@example.net")


@dataclasses.dataclass(frozen=True)
class ModeCase:
    name: str
    server: Recorder | Aio | Nothing
    args: tuple[str, ...]
    stdin: bytes = b""
    smtpq_extra: tuple[str, ...] = ()  # smtpq-only options (--send-now)
    #: Transcript lines only smtpq shows: it reads every reply of a pipelined batch
    #: (RFC 2920 §3.1) so that the connection stays usable; msmtp stops at the refusal.
    unread_by_msmtp: tuple[str, ...] = ()


def _etrn(reply: str) -> Recorder:
    return Recorder(ehlo=ETRN, replies=(("ETRN", reply),))


CASES = [
    # -- --serverinfo --------------------------------------------------------------
    ModeCase("serverinfo-all-capabilities", Recorder(ehlo=ALL_CAPS), ("-S",)),
    ModeCase("serverinfo-helo-only", Recorder(replies=(("EHLO", "502 no"),)), ("--serverinfo",)),
    ModeCase("serverinfo-no-extensions", Recorder(ehlo=("HELP",)), ("-S",)),
    *[ModeCase(f"serverinfo-size-{n}", Recorder(ehlo=(f"SIZE {n}",)), ("-S",))
      for n in ("0", "1000", "2048", "5000000", "junk")],
    ModeCase("serverinfo-starttls", Aio(mode="starttls"), ("-S",)),
    ModeCase("serverinfo-smtps", Aio(mode="smtps"), ("-S",)),
    ModeCase("serverinfo-lmtp", Recorder(ehlo=ALL_CAPS), ("-S", "--protocol=lmtp")),
    ModeCase("serverinfo-debug", Recorder(ehlo=ALL_CAPS), ("-S", "-d")),
    ModeCase("serverinfo-refused", Nothing(), ("-S",)),
    ModeCase("serverinfo-greeting-554", Recorder(greeting="554 5.3.2 go away"), ("-S",)),
    ModeCase("serverinfo-untrusted", Aio(mode="smtps", cert="untrusted"), ("-S",)),
    ModeCase("serverinfo-too-many-arguments", Recorder(), ("-S", "x@example.net")),
    # -- --rmqs ------------------------------------------------------------------------
    ModeCase("rmqs-ok", _etrn("250 queuing started"), ("--rmqs=@example.org",)),
    ModeCase("rmqs-253", _etrn("253 OK, 4 pending messages started"), ("--rmqs=#q",)),
    ModeCase("rmqs-458", _etrn("458 Unable to queue messages"), ("--rmqs=host.example",)),
    ModeCase("rmqs-459", _etrn("459 Node not allowed"), ("--rmqs=host.example",)),
    ModeCase("rmqs-501", _etrn("501 Syntax error"), ("--rmqs=x",)),
    ModeCase("rmqs-550", _etrn("550 no way"), ("--rmqs=x",)),
    ModeCase("rmqs-not-supported", Recorder(), ("--rmqs=x",)),
    ModeCase("rmqs-debug", _etrn("250 ok"), ("--rmqs=x", "-d")),
    ModeCase("rmqs-with-auth-not-offered", _etrn("250 ok"),
             ("--rmqs=x", "--auth=plain", "--user=bob", "--passwordeval=echo pw")),
    # -- --pretend and --debug in sendmail mode ------------------------------------------
    ModeCase("pretend", Recorder(), ("-P", *SEND), MAIL, ("--send-now",)),
    ModeCase("debug-success", Recorder(ehlo=("PIPELINING", "DSN")),
             ("-d", "-N", "failure", *SEND), MAIL, ("--send-now",)),
    ModeCase("debug-refused", Recorder(replies=(("RCPT", "550 5.1.1 unknown"),)),
             ("-d", *SEND), MAIL, ("--send-now",),
             unread_by_msmtp=("<-- 554 5.5.1 Error: no valid recipients",)),
    ModeCase("debug-auth-redacted", Aio(sasl=("PLAIN", "LOGIN")),
             ("-d", "--auth=login", "--user=bob", "--passwordeval=echo s3cret", *SEND), MAIL,
             ("--send-now",)),
    ModeCase("debug-starttls", Aio(mode="starttls"), ("-d", *SEND), MAIL, ("--send-now",)),
    ModeCase("debug-read-envelope-from", Recorder(),
             ("-d", "--read-envelope-from", "bob@example.net"),
             b"From: Real <real@example.org>\n\nx\n", ("--send-now",)),
    ModeCase("verbose-is-debug", Recorder(), ("-v", *SEND), MAIL, ("--send-now",)),
]

_TLS_PARAMETERS = re.compile(r"(?m)^(TLS session parameters:\n    ).*$")
#: msmtp's LOGIN continuation lines are base64 of the user and password; smtpq redacts them.
_AUTH_CONTINUATION = re.compile(r"(?m)^(<-- 334 .*\n)--> \S+$")


def normalized(stdout: str) -> str:
    text = _TLS_PARAMETERS.sub(r"\1(masked)", stdout)
    text = mask_transcript(text)
    return _AUTH_CONTINUATION.sub(r"\1--> [redacted]", text.replace("\r\n", "\n"))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_mode_is_msmtp(case: ModeCase, fixtures, home) -> None:
    msmtp = msmtp_binary()
    target = case.server.start(fixtures)
    args = [*target.args, *case.args]
    theirs = run_program([msmtp, *args], stdin=case.stdin, home=home, target=target,
                         tag="msmtp", log=False)
    ours = run_program([smtpq_sendmail(), *case.smtpq_extra, *args], stdin=case.stdin,
                       home=home, target=target, tag="smtpq", log=False)

    assert (ours.returncode, ours.stderr) == (theirs.returncode, theirs.stderr)
    ours_lines = [x for x in normalized(ours.stdout).splitlines() if x not in case.unread_by_msmtp]
    assert ours_lines == normalized(theirs.stdout).splitlines()
    assert ours.server == theirs.server
