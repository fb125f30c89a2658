"""Differential tests: what real msmtp 1.8.23 sends versus what smtpq prepares.

smtpq takes the same command line and mail in as its enqueue and ``--send-now``
do (``smtpq.sender.modes.intake``) and sends the prepared mail with a bare client.

Both go to the same capturing aiosmtpd server on 127.0.0.1, which records the
envelope and the DATA content (after its RFC 5321 §4.5.2 un-stuffing).  They
must agree on MAIL FROM, every RCPT TO in order, the content byte for byte
(Date and Message-ID *values* masked) and msmtp's logged ``mailsize`` — except
for the documented deliberate differences, which are asserted on both sides at
the end.  Locally these tests skip without msmtp; with ``CI=true`` they fail.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

from smtpq.sender.message.wire import WireEncoder
from smtpq.sender.modes.intake import take_in
from smtpq.sender.options import parse_args
from tests.support.programs import msmtp_binary

pytestmark = pytest.mark.msmtp


# -- the capturing server --------------------------------------------------------------

class Captured(NamedTuple):
    mail_from: str
    rcpt_tos: list[str]
    content: bytes  # DATA after un-stuffing, Date/Message-ID values masked
    mailsize: int


class Recorder:
    def __init__(self) -> None:
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 OK"


class LongLineSMTP(SMTP):
    line_length_limit = 1 << 20  # msmtp sends 5000-character lines unchanged


class CaptureController(Controller):
    def factory(self) -> SMTP:
        return LongLineSMTP(self.handler, **self.SMTP_kwargs)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def server() -> Iterator[CaptureController]:
    controller = CaptureController(Recorder(), hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller
    controller.stop()


@pytest.fixture(scope="module")
def msmtp() -> str:
    return msmtp_binary()


def masked(content: bytes) -> bytes:
    content = re.sub(
        rb"(?m)^Date: [A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d [+-]\d{4}\r$",
        b"Date: <DATE>\r", content,
    )
    return re.sub(rb"<[0-9a-f]{32}\.", b"<HEX.", content)


def last_envelope(server: CaptureController, mailsize: int) -> Captured:
    envelope = server.handler.envelopes.pop()
    return Captured(envelope.mail_from, list(envelope.rcpt_tos),
                    masked(envelope.original_content), mailsize)


# -- the two senders -------------------------------------------------------------------

class Case(NamedTuple):
    """One mail and its options, in the terms both programs understand."""

    data: bytes
    recipients: tuple[str, ...] = ()
    from_arg: str | None = "alice@example.org"
    full_name: str | None = None
    read_recipients: bool = False
    read_envelope_from: bool = False
    set_from_header: str = "auto"
    set_date_header: str = "auto"
    set_msgid_header: str = "auto"
    remove_bcc_headers: bool = True
    undisclosed_recipients: bool = False
    aliases: str | None = None  # the aliases file's text
    auto_from: bool = False
    maildomain: str | None = None


def msmtp_args(case: Case, aliases_path: Path) -> list[str]:
    args = [f"--set-from-header={case.set_from_header}",
            f"--set-date-header={case.set_date_header}",
            f"--set-msgid-header={case.set_msgid_header}",
            f"--remove-bcc-headers={'on' if case.remove_bcc_headers else 'off'}",
            f"--undisclosed-recipients={'on' if case.undisclosed_recipients else 'off'}"]
    if case.from_arg is not None:
        args.append(f"--from={case.from_arg}")
    if case.full_name is not None:
        args.append(f"-F{case.full_name}")
    if case.read_recipients:
        args.append("-t")
    if case.read_envelope_from:
        args.append("--read-envelope-from")
    if case.aliases is not None:
        args.append(f"--aliases={aliases_path}")
    if case.auto_from:
        args.append("--auto-from=on")
    if case.maildomain is not None:
        args.append(f"--maildomain={case.maildomain}")
    return [*args, "--", *case.recipients]


def run_msmtp(msmtp: str, server: CaptureController, case: Case, tmp: Path) -> Captured:
    result = run_msmtp_raw(msmtp, server, case, tmp)
    assert result.returncode == 0, result.stderr
    mailsize = re.search(r"mailsize=(\d+)", (tmp / "log").read_text())
    assert mailsize is not None
    return last_envelope(server, int(mailsize.group(1)))


def run_msmtp_raw(
    msmtp: str, server: CaptureController, case: Case, tmp: Path
) -> subprocess.CompletedProcess[str]:
    aliases = tmp / "aliases"
    if case.aliases is not None:
        aliases.write_text(case.aliases)
    argv = [msmtp, "--host=127.0.0.1", f"--port={server.port}", f"--logfile={tmp / 'log'}",
            *msmtp_args(case, aliases)]
    env = {"HOME": str(tmp), "PATH": os.environ.get("PATH", ""), "TZ": "UTC", "USER": "tester"}
    return subprocess.run(argv, input=case.data.decode("latin-1"), encoding="latin-1",
                          capture_output=True, env=env, timeout=30, check=False)


def run_smtpq(server: CaptureController, case: Case, tmp: Path) -> Captured:
    """The same command line, taken in and prepared as ``--send-now`` and the enqueue do."""
    aliases = tmp / "smtpq-aliases"
    if case.aliases is not None:
        aliases.write_text(case.aliases)
    cmd = parse_args(["--host=127.0.0.1", f"--port={server.port}", *msmtp_args(case, aliases)])
    source = tmp / "mail"
    source.write_bytes(case.data)
    with source.open("rb") as stream:
        intake = take_in(cmd, env={"HOME": str(tmp), "USER": "tester"}, stdin=stream)
        message = intake.prepare()
        encoder = WireEncoder()
        send(server.port, message.envelope_from, message.recipients,
             b"".join(message.wire_chunks(encoder)))
        intake.close()
    return last_envelope(server, encoder.mailsize)


def send(port: int, mail_from: str, recipients: list[str], wire: bytes) -> None:
    """A bare SMTP client: the wire bytes go out exactly as prepared."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        replies = sock.makefile("rb")

        def expect(code: bytes) -> None:
            line = replies.readline()
            while line[3:4] == b"-":
                line = replies.readline()
            assert line.startswith(code), line

        def command(text: str, code: bytes) -> None:
            sock.sendall(text.encode() + b"\r\n")
            expect(code)

        expect(b"220")
        command("EHLO localhost", b"250")
        command(f"MAIL FROM:<{mail_from}>", b"250")
        for recipient in recipients:
            command(f"RCPT TO:<{recipient}>", b"250")
        command("DATA", b"354")
        sock.sendall(wire + b".\r\n")
        expect(b"250")
        command("QUIT", b"221")


@pytest.fixture
def both(
    msmtp: str, server: CaptureController, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Any:
    monkeypatch.setenv("USER", "tester")  # as in msmtp's environment

    def run(case: Case) -> tuple[Captured, Captured]:
        return run_msmtp(msmtp, server, case, tmp_path), run_smtpq(server, case, tmp_path)

    return run


# -- parity: the same envelope and the same DATA ---------------------------------------

REFERENCE_5_3 = b"""\
From: "Sender, Real" <real.sender@example.org>
To: "Doe, John" <john@example.net>, plain@example.net (a comment),
\tcontinued@example.net
cc: Friends: f1@example.net, "F Two" <f2@example.net>;, nobody-group:;
BCC: hidden1@example.net,
 hidden2@example.net
X-Other: not@recipient.example

To: body@x
Bcc: bodybcc@x
"""

PARITY = {
    "reference 5.1": Case(b"Subject: t1\r\nTo: x@example.net\r\n\r\nbody\r\n",
                          ("x@example.net",)),
    "command-line address lists": Case(
        b"Subject: s\n\nb\n",
        ("John <j@x>", "a@x, b@y", "grp: g1@x, g2@x;", "c@x; d@y", "foo@bar.com <foo@bar.com>",
         "x@y (comment)", "((nested) c) n@x"),
    ),
    "-t reference 5.3": Case(REFERENCE_5_3, ("cmd@example.org",), read_recipients=True),
    "-t no dedup": Case(b"To: a@x, b@x\nCc: a@x\n\nb\n", ("cmd@x", "a@x"), read_recipients=True),
    "bcc removed without -t": Case(b"To: a@x\nBcc: h@x,\n h2@x\nbcc: h3@x\n\nBcc: body\n",
                                   ("a@x",)),
    "keepbcc": Case(REFERENCE_5_3, read_recipients=True, remove_bcc_headers=False),
    "resent block": Case(
        b"Received: x\nResent-From: r@x\nResent-To: rt@x\nResent-Cc: rc@x\nResent-Date: d\n"
        b"To: t@x\nResent-To: second@x\n\nbody\n", read_recipients=True),
    "resent block later": Case(b"To: t@x\nResent-To: rt@x,\n rt2@x\nX: y\nResent-To: s@x\n\nb\n",
                               read_recipients=True),
    "set_from_header on": Case(b'From: "Real" <r@x>\n continued\nSubject: s\n\nb\n', ("a@x",),
                               set_from_header="on"),
    "set_from_header off": Case(b"Subject: s\n\nb\n", ("a@x",), set_from_header="off"),
    "addressless from replaced": Case(b"From: (just comment)\nX: y\nFROM:\n\nb\n", ("a@x",)),
    "quoted-only from replaced": Case(b'From: "quoted only"\nX: y\n\nb\n', ("a@x",)),
    "quoted-only to is no recipient": Case(b'To: "nobody", a@x\n\nb\n', read_recipients=True),
    "empty from then real from": Case(b"From:\nSubject: x\nFrom: b@y\n\nbody\n", ("a@x",)),
    "headers detected case-insensitively": Case(b"date: x\nmessage-id: <y>\nfrom: z@z\n\nb\n",
                                                ("a@x",)),
    "date and msgid off": Case(b"S: s\n\nb\n", ("a@x",), set_date_header="off",
                               set_msgid_header="off"),
    "undisclosed recipients": Case(REFERENCE_5_3, read_recipients=True,
                                   undisclosed_recipients=True),
    "undisclosed keeps resent-to": Case(b"To: a@x\nResent-To: e@x\nTo : g@x\n\nb\n", ("z@x",),
                                        undisclosed_recipients=True),
    "8-bit and UTF-8": Case("Subject: Grüße\nTo: jörg@bücher.example\n\nÄÖÜ ß €\n\xff\xfe\n"
                            .encode("utf-8", "surrogateescape"), read_recipients=True),
    "dots and mixed line ends": Case(b"S: s\n\n.\n..\n.x\r\nmid.dot\n\r\n.\r\nlast", ("a@x",)),
    "long line": Case(b"S: s\n\n" + b"." + b"y" * 5000 + b"\n", ("a@x",)),
    "no header block": Case(b"body only\n.second line\nthird", ("a@x",)),
    "leading blank line": Case(b"\nbody after blank\n", ("a@x",)),
    "empty input": Case(b"", ("a@x",)),
    "cr in headers dropped": Case(b"Subject: a\rb\r\nX: y\r\r\n\r\nbody\r\n", ("a@x",)),
    "null sender": Case(b"S: s\n\nb\n", ("a@x",), from_arg="<>"),
    "envelope-from without domain": Case(b"S: s\n\nb\n", ("a@x",), from_arg="tester"),
    "read envelope from": Case(b'Resent-From: r@x\nFrom: "A, B" <f@x> (c), g@y\n\nb\n', ("a@x",),
                               from_arg=None, read_envelope_from=True),
    "folded from for read envelope from": Case(b'From: "A"\n <a@example.org>\n\nb\n', ("x@y",),
                                               from_arg=None, read_envelope_from=True),
    "plain full name": Case(b"S: s\n\nb\n", ("a@x",), full_name="John Doe"),
    "full name with set_from_header on": Case(b"From: o@x\n\nb\n", ("a@x",), full_name="Jo",
                                              set_from_header="on"),
    "auto_from": Case(b"S: s\n\nb\n", ("a@x",), auto_from=True, maildomain="example.org"),
    "auto_from without maildomain": Case(b"S: s\n\nb\n", ("a@x",), auto_from=True),
    "comments with commas in -t": Case(
        b'To: a@x (c, d), "q, r" <b@x>, <c@x> (e),\n (f) d@x\nCc: ,, e@x,\n\nb\n',
        read_recipients=True),
    "mbox From_ line": Case(b"From alice@x Tue Nov 24 10:00:00 2026\nTo: a@x\n\nb\n",
                            read_recipients=True),
    "space before colon is not the field": Case(b"Date : x\nMessage-ID : y\nBcc : z\n\nb\n",
                                                ("a@x",)),
    "leading continuation line": Case(b" indented first line\n\nbody\n", ("a@x",)),
    "bcc at end of input": Case(b"To: a@x\nBcc: b@x", ("a@x",)),
    "aliases": Case(b"To: root\n\nb\n", ("cron", "x@y", "ghost"),
                    aliases="# c\nroot: joe@example.com\ncron: mark@example.com # m\n"),
    "aliases default": Case(b"S: s\n\nb\n", ("nobody",),
                            aliases="root: r@x\ndefault: admin@example.com\n"),
}


@pytest.mark.parametrize("name", list(PARITY))
def test_same_envelope_and_data_as_msmtp(both: Any, name: str) -> None:
    theirs, ours = both(PARITY[name])
    assert ours == theirs


# -- deliberate differences, asserted on both sides ------------------------------------

def test_lone_cr_in_the_body_is_a_line_break(both: Any) -> None:
    theirs, ours = both(Case(b"S: s\n\nbare\rcr\nx\r.\rend\n", ("a@x",)))
    assert theirs.content.endswith(b"\r\n\r\nbare\rcr\r\nx\r.\rend\r\n")  # msmtp passes CR
    assert ours.content.endswith(b"\r\n\r\nbare\r\ncr\r\nx\r\n.\r\nend\r\n")
    assert ours.content.replace(b"\r\n", b"\n") == theirs.content.replace(b"\r\n", b"\n").replace(
        b"\r", b"\n")
    assert ours.mailsize == theirs.mailsize  # a lone CR is one byte either way


def test_resent_bcc_is_removed(both: Any) -> None:
    data = b"Resent-To: rt@x\nResent-Bcc: secret@x\nSubject: s\n\nb\n"
    theirs, ours = both(Case(data, read_recipients=True))
    assert theirs.rcpt_tos == ours.rcpt_tos == ["rt@x", "secret@x"]
    assert b"Resent-Bcc: secret@x\r\n" in theirs.content  # msmtp leaks it
    assert ours.content == theirs.content.replace(b"Resent-Bcc: secret@x\r\n", b"")


def test_aliases_keep_order_and_expand_every_name(both: Any) -> None:
    aliases = "root: joe@example.com, jane@example.com\ncron: mark@example.com\n"
    theirs, ours = both(Case(b"S: s\n\nb\n", ("root", "cron"), aliases=aliases))
    assert theirs.rcpt_tos == ["jane@example.com", "joe@example.com", "cron"]
    assert ours.rcpt_tos == ["joe@example.com", "jane@example.com", "mark@example.com"]
    assert ours.content == theirs.content


def test_full_name_is_quoted_or_encoded(both: Any) -> None:
    theirs, ours = both(Case(b"S: s\n\nb\n", ("a@x",), full_name='Doe, John "JD"'))
    assert b'From: Doe, John "JD" <alice@example.org>\r\n' in theirs.content
    assert ours.content == theirs.content.replace(
        b'From: Doe, John "JD"', b'From: "Doe, John \\"JD\\""')


def test_obsolete_cfws_around_at_and_dots_is_parsed(both: Any) -> None:
    theirs, ours = both(Case(b"S: s\n\nb\n", ("x (comm) @ y . z",)))
    assert theirs.rcpt_tos == ["z"]  # msmtp's scanner keeps the last word
    assert ours.rcpt_tos == ["x@y.z"]  # RFC 5322 §4.4 obs-local-part / obs-domain
    assert ours.content == theirs.content


def test_non_ascii_full_name_is_rfc2047_encoded(both: Any) -> None:
    theirs, ours = both(Case(b"S: s\n\nb\n", ("a@x",), full_name="Jörg Ü"))
    assert "From: Jörg Ü <alice@example.org>\r\n".encode() in theirs.content  # raw 8-bit
    assert ours.content == theirs.content.replace(
        "Jörg Ü".encode(), b"=?utf-8?b?SsO2cmcgw5w=?=")


def test_a_folded_resent_field_does_not_end_the_block(
    msmtp: str, server: CaptureController, tmp_path: Path
) -> None:
    case = Case(b"Resent-Date: x\n y\nResent-To: rt@x\n\nb\n", read_recipients=True)
    result = run_msmtp_raw(msmtp, server, case, tmp_path)
    assert (result.returncode, result.stderr) == (64, "msmtp: no recipients found\n")
    assert run_smtpq(server, case, tmp_path).rcpt_tos == ["rt@x"]
