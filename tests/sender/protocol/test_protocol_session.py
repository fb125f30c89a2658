"""Greeting, EHLO/HELO/LHLO, capabilities, the AUTH channel, transcripts, RSET, QUIT, ETRN."""

from __future__ import annotations

import io

import pytest
from aiosmtpd.smtp import AuthResult, auth_mechanism

from smtpq.sender.auth.channel import AuthChannel
from smtpq.sender.config.settings import Account, Protocol
from smtpq.sender.errors import DeliveryError
from smtpq.sender.protocol.capabilities import Capabilities
from smtpq.sender.protocol.reply import Reply
from smtpq.sender.protocol.session import Session
from smtpq.sender.protocol.transaction import run_transaction
from smtpq.sender.protocol.transcript import debug_printer
from smtpq.sender.sysexits import ExitCode
from tests.support.aiosmtpd_server import RecordingHandler


def account_for(server, **overrides) -> Account:
    return Account(host="127.0.0.1", port=server.port, timeout=5, **overrides)


def greeting_script(*greeting: str):
    def script(peer):
        peer.send(*greeting)
        peer.line()
    return script


@pytest.mark.parametrize("greeting", ["554 5.3.2 No service for you",
                                      "421 4.3.2 Service not available, closing"])
def test_a_greeting_other_than_220_is_a_protocol_error(scripted_server, greeting):
    server = scripted_server(greeting_script(greeting))
    with pytest.raises(DeliveryError) as caught:
        Session.open(account_for(server))
    assert caught.value.message == "cannot get initial OK message from server"
    assert caught.value.exit_code == ExitCode.EX_PROTOCOL
    assert caught.value.smtp_status == int(greeting[:3])
    assert caught.value.smtp_message == (greeting,)
    assert caught.value.details == (f"server message: {greeting}",)


@pytest.mark.parametrize(("raw", "message"), [
    (b"", "the server sent an empty reply"),
    (b"hello\r\n", "the server sent an invalid reply"),
])
def test_garbage_instead_of_a_greeting(scripted_server, raw, message):
    server = scripted_server(lambda peer: peer.send_raw(raw))
    with pytest.raises(DeliveryError) as caught:
        Session.open(account_for(server))
    assert caught.value.message == message
    assert caught.value.exit_code == ExitCode.EX_PROTOCOL


def test_ehlo_refused_falls_back_to_helo(smtp_sink):
    sink = smtp_sink(no_esmtp=True)
    out = io.StringIO()
    with Session.open(sink.account(), transcript=debug_printer(out)) as session:
        assert session.capabilities == Capabilities()
        assert not session.capabilities.pipelining
    lines = out.getvalue().splitlines()
    assert "--> EHLO localhost" in lines and "--> HELO localhost" in lines


def test_ehlo_and_helo_refused(scripted_server):
    def script(peer):
        peer.send("220 hi")
        peer.line()
        peer.send("500 no")
        peer.line()
        peer.send("501 no helo either")
        peer.line()

    with pytest.raises(DeliveryError) as caught:
        Session.open(account_for(scripted_server(script)))
    assert caught.value.message == "SMTP server does not accept EHLO or HELO commands"
    assert caught.value.exit_code == ExitCode.EX_PROTOCOL
    assert caught.value.smtp_message == ("501 no helo either",)


def test_the_domain_is_the_ehlo_argument(scripted_server):
    server = scripted_server(greeting_script("220 hi"))
    with pytest.raises(DeliveryError):
        Session.open(account_for(server, domain="client.example"))
    assert server.peer.lines[0] == "EHLO client.example"


def test_lmtp_says_lhlo_and_fails_without_a_fallback(scripted_server):
    def script(peer):
        peer.send("220 lmtp")
        peer.line()
        peer.send("500 what")
        peer.line()

    server = scripted_server(script)
    with pytest.raises(DeliveryError) as caught:
        Session.open(account_for(server, protocol=Protocol.LMTP))
    assert server.peer.lines[0] == "LHLO localhost"
    assert caught.value.message == "command LHLO failed"
    assert caught.value.exit_code == ExitCode.EX_PROTOCOL


def test_capabilities_are_parsed_as_msmtp_does():
    reply = Reply(250, ("250-mx.example", "250-PIPELINING", "250-SIZE 10240000",
                        "250-8BITMIME", "250-SMTPUTF8", "250-ENHANCEDSTATUSCODES",
                        "250-dsn", "250-ETRN", "250-STARTTLS", "250-AUTH PLAIN login",
                        "250 AUTH=CRAM-MD5"))
    caps = Capabilities.from_reply(reply)
    assert caps.esmtp and caps.pipelining and caps.eightbitmime and caps.smtputf8
    assert caps.enhancedstatuscodes and caps.dsn and caps.etrn and caps.starttls and caps.auth
    assert caps.size == 10240000
    assert caps.auth_methods == {"PLAIN", "LOGIN", "CRAM-MD5"}


@pytest.mark.parametrize(("line", "size"), [("250 SIZE", None), ("250 SIZE x", None),
                                             ("250 SIZE 0", 0), ("250 SIZE 512", 512)])
def test_size_counts_only_with_a_number(line, size):
    assert Capabilities.from_reply(Reply(250, ("250-x", line))).size == size


def test_the_session_is_an_auth_channel(smtp_server):
    server = smtp_server(credentials={"bob": "s3cret"}, auth_require_tls=False)
    with Session.open(server.account()) as session:
        channel: AuthChannel = session
        assert channel.auth_methods == {"LOGIN", "PLAIN"}
        assert channel.tls_active is False
        assert channel.server_host == "127.0.0.1"
        reply = channel.command("AUTH PLAIN AGJvYgBzM2NyZXQ=", secret=True)
        assert reply.code == 235


def test_auth_payloads_never_reach_the_transcript(smtp_server):
    server = smtp_server(credentials={"bob": "s3cret"}, auth_require_tls=False)
    out = io.StringIO()
    with Session.open(server.account(), transcript=debug_printer(out)) as session:
        assert session.command("AUTH LOGIN").code == 334
        assert session.command("Ym9i").code == 334  # not marked secret: still inside AUTH
        assert session.command("czNjcmV0").code == 235
        session.command("NOOP")
    text = out.getvalue()
    assert "Ym9i" not in text and "czNjcmV0" not in text
    assert "--> AUTH LOGIN\r\n--> " not in text  # replies sit between the lines
    assert text.count("--> [redacted]\r\n") == 2
    assert "--> NOOP\r\n" in text


class ChallengeHandler(RecordingHandler):
    """A custom SASL mechanism, as other tests add them: one challenge, then success."""

    @auth_mechanism("X-TEST")  # or name it auth_X__TEST: "__" stands for "-"
    async def auth_X_TEST(self, server, args):  # noqa: N802 - aiosmtpd's naming
        answer = await server.challenge_auth("challenge", encode_to_b64=False)
        return AuthResult(success=answer == b"response", handled=False)


def test_custom_auth_mechanisms_plug_into_the_test_server(smtp_server):
    server = smtp_server(handler=ChallengeHandler(), credentials={}, auth_require_tls=False)
    out = io.StringIO()
    with Session.open(server.account(), transcript=debug_printer(out)) as session:
        assert "X-TEST" in session.auth_methods
        assert session.command("AUTH X-TEST").code == 334
        assert session.command("cmVzcG9uc2U=").code == 235
    assert "cmVzcG9uc2U=" not in out.getvalue()


def test_an_initial_response_is_redacted_even_unmarked(smtp_server):
    server = smtp_server(credentials={"bob": "s3cret"}, auth_require_tls=False)
    out = io.StringIO()
    with Session.open(server.account(), transcript=debug_printer(out)) as session:
        session.command("AUTH PLAIN AGJvYgBzM2NyZXQ=")
    assert "--> AUTH PLAIN [redacted]\r\n" in out.getvalue()
    assert "AGJvYgBzM2NyZXQ=" not in out.getvalue()


def test_the_transcript_looks_like_msmtps(smtp_sink):
    sink = smtp_sink()
    out = io.StringIO()
    with Session.open(sink.account(), transcript=debug_printer(out)) as session:
        run_transaction(session, "a@example.org", ["t@example.net"], [b"Subject: x\r\n\r\nbody\r\n"])
    assert out.getvalue().startswith("<-- 220 smtp-sink ESMTP\r\n--> EHLO localhost\r\n")
    assert ("--> MAIL FROM:<a@example.org>\r\n--> RCPT TO:<t@example.net>\r\n--> DATA\r\n"
            "<-- 250 2.1.0 Ok\r\n<-- 250 2.1.5 Ok\r\n<-- 354 End data with <CR><LF>.<CR><LF>\r\n"
            "--> Subject: x\r\n--> \r\n--> body\r\n--> .\r\n<-- 250 2.0.0 Ok\r\n"
            "--> QUIT\r\n<-- 221 Bye\r\n") in out.getvalue()


def test_quit_closes_the_connection(smtp_server):
    server = smtp_server()
    session = Session.open(server.account())
    session.quit()
    assert session.connection.closed


def etrn_server(reply: str, advertise: bool = True):
    def script(peer):
        peer.send("220 hi")
        peer.line()
        peer.send("250-x", "250 ETRN" if advertise else "250 PIPELINING")
        if peer.line().startswith("ETRN"):
            peer.send(reply)
            peer.line()
    return script


@pytest.mark.parametrize("reply", ["250 queuing started", "251 nothing waiting",
                                   "252 started", "253 3 messages"])
def test_etrn_success(scripted_server, reply):
    server = scripted_server(etrn_server(reply))
    with Session.open(account_for(server)) as session:
        assert session.etrn("example.org").code == int(reply[:3])
    assert server.peer.lines[1] == "ETRN example.org"


@pytest.mark.parametrize(("reply", "message", "code"), [
    ("458 unable", "the server is unable to fulfill the request", ExitCode.EX_UNAVAILABLE),
    ("459 not allowed", "the server is unable to fulfill the request", ExitCode.EX_UNAVAILABLE),
    ("500 syntax", "invalid argument for Remote Message Queue Starting", ExitCode.EX_DATAERR),
    ("501 syntax", "invalid argument for Remote Message Queue Starting", ExitCode.EX_DATAERR),
    ("502 what", "command ETRN failed", ExitCode.EX_PROTOCOL),
    ("550 no", "command ETRN failed", ExitCode.EX_PROTOCOL),
])
def test_etrn_failures(scripted_server, reply, message, code):
    server = scripted_server(etrn_server(reply))
    with Session.open(account_for(server)) as session, pytest.raises(DeliveryError) as caught:
        session.etrn("@example.org")
    assert (caught.value.message, caught.value.exit_code) == (message, code)
    assert caught.value.smtp_message == (reply,)


def test_etrn_needs_the_capability(scripted_server):
    server = scripted_server(etrn_server("250 x", advertise=False))
    with Session.open(account_for(server)) as session, pytest.raises(DeliveryError) as caught:
        session.etrn("#queue")
    assert caught.value.message == "the server does not support Remote Message Queue Starting"
    assert caught.value.exit_code == ExitCode.EX_UNAVAILABLE
