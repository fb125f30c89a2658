"""The ``--send-now`` differential cases: one row per behaviour msmtp 1.8.23 shows.

Each :class:`Case` names the server (:mod:`.servers`), the arguments after the
connection options, the mail, and optionally an msmtprc (``{port}`` and
``{ca}`` filled in; it replaces ``--host``/``--port``) and extra files in HOME.
``deliberate`` turns what msmtp put on the wire into what smtpq must put
there, for the documented deliberate differences only.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any

from tests.sender.differential.harness import HANGUP
from tests.sender.differential.servers import SASL_MECHANISMS, Aio, Nothing, Recorder

FROM = ("-f", "alice@example.org")
TO = ("bob@example.net",)
PW = "--passwordeval=echo s3cret"
MAIL = b"Subject: differential\nTo: bob@example.net\n\nHello.\n"
STAMPED = (b"From: alice@example.org\nDate: Tue, 24 Nov 2026 23:16:12 +0000\n"
           b"Message-ID: <fixed@example.org>\nSubject: stamped\n\nbody\n")
HEADERS_T = (b"From: \"Sender, Real\" <real@example.org>\n"
             b"To: \"Doe, John\" <john@example.net>, plain@example.net (comment),\n"
             b"\tcontinued@example.net\n"
             b"cc: Friends: f1@example.net, \"F Two\" <f2@example.net>;, nobody:;\n"
             b"BCC: hidden1@example.net,\n hidden2@example.net\nSubject: t\n\nBcc: body@x\n")
RESENT = (b"Resent-From: r@example.org\nResent-To: rt@example.net\n"
          b"Resent-Bcc: secret@example.net\nFrom: a@example.org\nTo: old@example.net\n\nb\n")
LINE_ENDS = b"Subject: e\n\nline1\n.dot line\n..two dots\n.\nmixed crlf\r\nlast no newline"
EIGHT_BIT = "Subject: Grüße\n\nÜmlaut — ✓ ".encode() + b"\xe9\xff latin1\n"
BIG = b"Subject: big\n\n" + b"".join(b"%07d " % i + b"x" * 68 + b"\n" for i in range(70000))
RC = """defaults
port {port}
tls off
account work
host 127.0.0.1
from work@example.org
domain work.example
account bobs : work
from bob@example.org
domain bobs.example
account wild : work
from *@wild.example
domain wild.example
account strict
host 127.0.0.1
from strict@example.org
allow_from_override off
account default : work
"""


def _lone_cr_to_crlf(record: list[Any]) -> list[Any]:
    """Deliberate: a lone CR is a line end (SMTP smuggling, message/wire.py)."""
    return [("DATA", re.sub(rb"\r(?!\n)", b"\r\n", x[1])) if isinstance(x, tuple) else x
            for x in record]


def _without_resent_bcc(record: list[Any]) -> list[Any]:
    """Deliberate: Resent-Bcc is removed like Bcc (msmtp leaks it, reference §5.2)."""
    return [("DATA", re.sub(rb"(?m)^Resent-Bcc:[^\r\n]*\r\n", b"", x[1]))
            if isinstance(x, tuple) else x for x in record]


def _quoted_full_name(record: list[Any]) -> list[Any]:
    """Deliberate: -F is written as an RFC 5322 phrase (msmtp inserts it verbatim)."""
    return [("DATA", x[1].replace(b'From: Doe, John "JD" <', b'From: "Doe, John \\"JD\\"" <'))
            if isinstance(x, tuple) else x for x in record]


@dataclasses.dataclass(frozen=True)
class Deliberate:
    """A documented difference: how msmtp's wire data and logged mailsize become ours."""

    data: Callable[[list[Any]], list[Any]]
    mailsize_delta: int = 0

    def server(self, server: list[Any]) -> list[Any]:
        return [self.data(r) if isinstance(r, list) else r for r in server]

    def log(self, lines: list[str]) -> list[str]:
        return [re.sub(r"mailsize=(\d+)", lambda m: f"mailsize={int(m[1]) + self.mailsize_delta}",
                       line) for line in lines]


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    server: Recorder | Aio | Nothing = Recorder()
    args: tuple[str, ...] = (*FROM, *TO)
    mail: bytes = MAIL
    rc: str | None = None
    files: tuple[tuple[str, str], ...] = ()
    deliberate: Deliberate | None = None
    log: bool = True  # the harness adds --logfile (off when the case sets its own)
    wire: bool = True  # compare what the server got (not for a TLS hello to a plain port)


def _reply(key: str, reply: str) -> Recorder:
    return Recorder(replies=((key, reply),))


CASES: list[Case] = [
    # -- recipients and envelope ---------------------------------------------------
    Case("command-line-recipients", args=(*FROM, "bob@example.net", "carol@example.net")),
    Case("recipient-address-lists", args=(*FROM, "Bob <bob@example.net>, c@example.net", "d@x")),
    Case("duplicate-recipients-kept", args=(*FROM, "a@x", "a@x")),
    Case("t-recipients-and-bcc-removed", args=("-t", *FROM, "cmd@example.net"), mail=HEADERS_T),
    Case("t-resent-block", args=("-t", *FROM), mail=RESENT,
         deliberate=Deliberate(_without_resent_bcc, -len("Resent-Bcc: secret@example.net\n"))),
    Case("t-only-empty-group-no-recipients", args=("-t", *FROM),
         mail=b"To: undisclosed-recipients:;\n\nx\n"),
    Case("no-recipients", args=FROM),
    Case("null-sender", args=("-f", "<>", *TO)),
    Case("envelope-from-missing", args=TO),
    Case("read-envelope-from", args=("--read-envelope-from", *TO), mail=HEADERS_T),
    Case("account-by-envelope-from", args=("-f", "bob@example.org", *TO), rc=RC),
    Case("account-by-wildcard-from", args=("-f", "x@wild.example", *TO), rc=RC),
    Case("account-by-name", args=("-a", "bobs", *TO), rc=RC),
    Case("default-account", args=TO, rc=RC),
    Case("allow-from-override", args=("-f", "other@example.org", *TO), rc=RC),
    Case("allow-from-override-off", args=("-a", "strict", "-f", "other@example.org", *TO), rc=RC),
    Case("aliases", args=(*FROM, "--aliases=~/aliases", "root", "x@example.net"),
         files=(("aliases", "root: admin@example.net\n"),)),
    Case("aliases-missing-file", args=(*FROM, "--aliases=~/none", "root")),
    # -- DSN ---------------------------------------------------------------------------
    Case("dsn", server=Recorder(ehlo=("PIPELINING", "DSN")),
         args=(*FROM, "--dsn-notify=failure,delay", "--dsn-return=headers", *TO)),
    Case("dsn-not-supported", args=(*FROM, "-N", "success", *TO)),
    Case("dsn-checked-before-auth", server=Aio(sasl=("PLAIN",)),
         args=("-R", "full", "--auth=plain", "--user=bob", "--passwordeval=echo wrong", *FROM, *TO)),
    # -- the mail itself ---------------------------------------------------------------
    Case("headers-stamped-by-the-mua", mail=STAMPED),
    Case("eight-bit-body", mail=EIGHT_BIT),
    Case("dots-and-line-ends", mail=LINE_ENDS),
    Case("lone-cr", mail=b"Subject: cr\n\nbare\rcr\n.\rdot\n",
         deliberate=Deliberate(_lone_cr_to_crlf)),
    Case("no-header-block", mail=b"just a body line\nand another\n"),
    Case("empty-mail", mail=b""),
    Case("five-megabytes", mail=BIG),
    Case("full-name", args=(*FROM, "-F", "John Doe", *TO)),
    Case("full-name-quoted", args=(*FROM, "-F", 'Doe, John "JD"', *TO),
         deliberate=Deliberate(_quoted_full_name, 4)),
    Case("set-from-header-on", args=(*FROM, "--set-from-header=on", *TO), mail=STAMPED),
    Case("undisclosed-recipients", args=(*FROM, "--undisclosed-recipients", *TO), mail=HEADERS_T),
    Case("keep-bcc", args=("-t", *FROM, "--keepbcc"), mail=HEADERS_T),
    Case("no-pipelining", server=Recorder(ehlo=("8BITMIME",))),
    Case("ehlo-refused-helo", server=_reply("EHLO", "500 5.5.1 command unrecognized")),
    # -- TLS ---------------------------------------------------------------------------
    Case("starttls", server=Aio(mode="starttls")),
    Case("implicit-tls", server=Aio(mode="smtps")),
    Case("untrusted-certificate", server=Aio(mode="smtps", cert="untrusted")),
    Case("wrong-host-certificate", server=Aio(mode="starttls", cert="wrong_host")),
    Case("expired-certificate", server=Aio(mode="smtps", cert="expired")),
    Case("certcheck-off", server=Aio(mode="smtps", cert="untrusted"),
         args=("--tls-certcheck=off", *FROM, *TO)),
    Case("fingerprint-mismatch", server=Aio(mode="smtps"),
         args=("--tls-fingerprint=" + ":".join(["AB"] * 32), *FROM, *TO)),
    Case("starttls-not-offered", args=("--tls", "--tls-certcheck=off", *FROM, *TO)),
    Case("smtps-to-plain-port", args=("--tls", "--tls-starttls=off", "--tls-certcheck=off",
                                      *FROM, *TO), wire=False),
    # -- AUTH --------------------------------------------------------------------------
    *[Case(f"auth-{m.lower()}", server=Aio(sasl=SASL_MECHANISMS),
           args=(f"--auth={m.lower()}", "--user=bob", PW, *FROM, *TO)) for m in SASL_MECHANISMS],
    *[Case(f"auth-{m.lower()}", server=Aio(sasl=(m,)),
           args=(f"--auth={m.lower()}", "--user=bob", "--passwordeval=echo ya29.token", *FROM,
                 *TO)) for m in ("OAUTHBEARER", "XOAUTH2")],
    # Not compared: a refused OAUTHBEARER token (msmtp answers the RFC 7628 §3.2.2 error
    # challenge with an empty line, smtpq with the %x01 §3.2.3 requires; the test server's
    # reply then differs) and EXTERNAL (msmtp 1.8.23 sends no response to aiosmtpd's
    # empty 334 and goes on with MAIL FROM).
    Case("auth-ntlm", server=Aio(sasl=("NTLM",)),
         args=("--auth=ntlm", "--user=bob", PW, *FROM, *TO)),
    Case("auth-on-chooses-scram", server=Aio(sasl=("PLAIN", "SCRAM-SHA-256")),
         args=("--auth=on", "--user=bob", PW, *FROM, *TO)),
    Case("auth-on-over-starttls", server=Aio(mode="starttls", sasl=("LOGIN", "PLAIN")),
         args=("--auth=on", "--user=bob", PW, *FROM, *TO)),
    Case("auth-wrong-password-plain", server=Aio(sasl=("PLAIN",)),
         args=("--auth=plain", "--user=bob", "--passwordeval=echo wrong", *FROM, *TO)),
    Case("auth-wrong-password-cram", server=Aio(sasl=("CRAM-MD5",)),
         args=("--auth=cram-md5", "--user=bob", "--passwordeval=echo wrong", *FROM, *TO)),
    Case("auth-on-without-tls", server=Aio(sasl=("PLAIN", "LOGIN")),
         args=("--auth=on", "--user=bob", PW, *FROM, *TO)),
    Case("auth-method-not-offered", server=Aio(sasl=("PLAIN",)),
         args=("--auth=login", "--user=bob", PW, *FROM, *TO)),
    Case("auth-not-offered", args=("--auth=plain", "--user=bob", PW, *FROM, *TO)),
    Case("auth-without-user", server=Aio(sasl=("PLAIN",)), args=("--auth=plain", PW, *FROM, *TO)),
    Case("passwordeval-without-output", server=Aio(sasl=("PLAIN",)),
         args=("--auth=plain", "--user=bob", "--passwordeval=true", *FROM, *TO)),
    # -- refusals ----------------------------------------------------------------------
    Case("greeting-421", server=Recorder(greeting="421 4.3.2 Service not available, closing")),
    Case("greeting-554", server=Recorder(greeting="554 5.3.2 No service for you")),
    Case("mail-553", server=_reply("MAIL", "553 5.7.1 Sender address rejected: not owned")),
    Case("mail-451", server=_reply("MAIL", "451 4.3.0 try later")),
    Case("rcpt-550-one-of-two", server=_reply("RCPT TO:<bad@example.net>",
                                              "550 5.1.1 <bad@example.net>: User unknown"),
         args=(*FROM, "good@example.net", "bad@example.net", "late@example.net")),
    Case("rcpt-450", server=_reply("RCPT", "450 4.2.0 greylisted, come back later")),
    Case("data-554", server=_reply("DATA", "554 5.5.1 no valid recipients")),
    Case("data-451", server=_reply("DATA", "451 4.3.0 local problem")),
    Case("end-of-data-554", server=_reply(".", "554 5.7.1 Message rejected as spam")),
    Case("end-of-data-451", server=_reply(".", "451 4.3.0 Temporary local problem")),
    Case("end-of-data-multiline-quote", server=_reply(
        ".", "554-5.7.1 It's rejected\n554 5.7.1 see https://example.org/why")),
    Case("reply-with-control-characters", server=_reply("RCPT", "550 5.1.1 bad\x07bell")),
    # -- the connection ------------------------------------------------------------------
    Case("connection-refused", server=Nothing()),
    Case("unknown-host", server=Nothing(), args=("--host=no-such-host.invalid", *FROM, *TO)),
    Case("hang-up-after-rcpt", server=_reply("RCPT", HANGUP)),
    Case("hang-up-after-data", server=_reply(".", HANGUP)),
    Case("timeout", server=Recorder(stall=True), args=("--timeout=1", *FROM, *TO)),
    Case("invalid-reply", server=_reply("MAIL", "hello there")),
    # -- LMTP --------------------------------------------------------------------------
    Case("lmtp", server=Aio(lmtp=True), args=(*FROM, "a@example.net", "b@example.net")),
    Case("lmtp-one-recipient-refused-after-data",
         server=Aio(lmtp=True, lmtp_replies=(("b@example.net", "550 5.2.1 mailbox full"),)),
         args=(*FROM, "a@example.net", "b@example.net", "c@example.net")),
    Case("lmtp-rcpt-refused",
         server=Aio(lmtp=True, rcpt_replies=(("b@example.net", "550 5.1.1 no such user"),)),
         args=(*FROM, "a@example.net", "b@example.net")),
    # -- logging -------------------------------------------------------------------------
    Case("log-to-unwritable-file", log=False, args=(*FROM, "--logfile=/nonexistent/x.log", *TO)),
    Case("log-failure-after-failed-mail", log=False, server=_reply("RCPT", "550 5.1.1 no"),
         args=(*FROM, "--logfile=/nonexistent/x.log", *TO)),
    Case("log-to-stdout", log=False, args=(*FROM, "--logfile=-", "--logfile-time-format=T", *TO)),
]
