"""Hostile input, end to end: bad addresses never reach SMTP, fuzzed replies never crash.

The parsers have their own property tests (``tests/sender/*/test_*_properties.py``,
``test_addresses.py``, ``test_wire_format.py``, ``test_protocol_reply.py``);
here the whole programs: an address carrying CR, LF, NUL, a control
character or an absurd length — on the command line, in ``-f`` or in a
header read with ``-t`` — makes ``smtpq-sendmail`` exit 65 (EX_DATAERR) with
nothing queued, and with ``--send-now`` without even connecting.  And a server
answering any bytes at any step gives the client an outcome, never a crash.
"""

from __future__ import annotations

import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smtpq.sender.config.settings import Account
from smtpq.sender.delivery.courier import OutgoingMail, deliver_once
from smtpq.sender.delivery.outcome import DeliveryOutcome
from tests.support.certs import TlsMaterial
from tests.support.faults import FaultServer
from tests.support.queue_home import QueueHome, queue_home  # noqa: F401
from tests.support.scripted import Peer, ScriptedServer

HOSTILE = [
    "a@b.example\r\nRCPT TO:<evil@x.example>",
    "a@b.example\nDATA",
    "a@b.example\rQUIT",
    "a\0b@c.example",
    "a\x01b@c.example",
    "a" * 5000 + "@b.example",
    "a@" + "b" * 70000 + ".example",
]
IDS = ["crlf", "lf", "cr", "nul", "control", "long-local", "long-domain"]


@pytest.fixture
def server(tls_material: TlsMaterial):  # type: ignore[no-untyped-def]
    made = FaultServer(tls_material)
    yield made
    made.stop()


def _cases() -> list[tuple[str, str]]:
    """(where, address) pairs that can happen: execve(2) cannot pass a NUL in an
    argument, and a line break in a header starts a new header line."""
    cases = []
    for where in ("argument", "envelope-from", "header"):
        for name, address in zip(IDS, HOSTILE, strict=True):
            if where != "header" and "\0" in address:
                continue
            if where == "header" and any(c in address for c in "\r\n"):
                continue
            cases.append(pytest.param(where, address, id=f"{where}-{name}"))
    return cases


@pytest.mark.parametrize(("where", "address"), _cases())
@pytest.mark.parametrize("mode", ["queue", "send-now"])
def test_a_hostile_address_exits_65_and_reaches_no_smtp_command(
        queue_home: QueueHome, server: FaultServer, address: str, where: str,
        mode: str) -> None:
    queue_home.account(server.port)
    mail = b"Subject: hostile\n\nbody\n"
    args = ["--send-now"] if mode == "send-now" else []
    if where == "argument":
        args += ["--", address]
    elif where == "envelope-from":
        args += ["-f", address, "--", "ok@example.net"]
    else:
        mail = f"To: {address}\n".encode() + mail
        args += ["-t"]

    result = queue_home.sendmail(mail, *args, ok=False)

    assert result.returncode == 65, result.stderr
    assert result.stderr.startswith(b"smtpq-sendmail: ")
    assert b"\r" not in result.stderr and b"\0" not in result.stderr
    assert result.stderr.count(b"\n") == 1  # one line: the address cannot forge more
    assert queue_home.messages() == []
    assert server.sessions == 0


# -- fuzzed server replies -------------------------------------------------------------

STEPS = ("greeting", "EHLO", "MAIL", "RCPT", "DATA", ".")


def _fuzzed(step: str, payload: bytes):  # type: ignore[no-untyped-def]
    """A server that behaves until *step*, answers it with *payload*, then hangs up."""
    def script(peer: Peer) -> None:
        if step == "greeting":
            peer.send_raw(payload)
            return
        peer.send("220 fuzz ESMTP")
        while line := peer.line():
            verb = line.split(" ", 1)[0].upper()
            if verb == "DATA" and step != "DATA":
                peer.send("354 go")
                peer.data()
                verb = "."
            if verb == step or (verb == "HELO" and step == "EHLO"):
                peer.send_raw(payload)
                return
            peer.send("250-fuzz", "250 PIPELINING" if verb == "EHLO" else "250 ok")
    return script


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(step=st.sampled_from(STEPS),
       payload=st.one_of(
           st.binary(max_size=2000),
           st.lists(st.sampled_from([b"250", b"250-", b"220 ", b"354", b"421 x", b"550 x",
                                     b"\r\n", b"\n", b"\r", b"\0", b" ", b"-", b"999 ",
                                     b"2500 ", b"25", b"\xff\xfe", b"x" * 1100]),
                    max_size=12).map(b"".join)))
def test_any_reply_at_any_step_gives_an_outcome_never_a_crash(step: str, payload: bytes) -> None:
    server = ScriptedServer(_fuzzed(step, payload + b"\r\n"))
    try:
        account = Account(host="127.0.0.1", port=server.port, timeout=2)
        mail = OutgoingMail("me@example.org", ["you@example.net"],
                            io.BytesIO(b"Subject: fuzz\r\n\r\nbody\r\n"))
        outcome = deliver_once(account, mail)
    finally:
        server.stop()
    assert isinstance(outcome, DeliveryOutcome)
    assert "\n" not in outcome.log_line and "\r" not in outcome.log_line
    if not outcome.ok:
        assert outcome.exit_code != 0 and outcome.delivered == ()
