"""STARTTLS (RFC 3207) and implicit TLS (RFC 8314): never a plain-text continuation."""

from __future__ import annotations

import time

import pytest

from smtpq.sender.config.settings import Account
from smtpq.sender.errors import DeliveryError
from smtpq.sender.protocol.session import Session
from smtpq.sender.protocol.transaction import run_transaction
from smtpq.sender.sysexits import ExitCode


def tls_account(port: int, **overrides) -> Account:
    settings = {"host": "127.0.0.1", "port": port, "timeout": 5, "tls": True,
                "tls_certcheck": False}
    settings.update(overrides)
    return Account(**settings)


def test_starttls_then_ehlo_again_with_fresh_knowledge(smtp_server):
    server = smtp_server(mode="starttls", credentials={"bob": "pw"})
    with Session.open(server.account()) as session:
        assert session.tls_active
        assert session.capabilities_before_tls.starttls
        assert not session.capabilities_before_tls.auth  # aiosmtpd offers AUTH only under TLS
        assert session.auth_methods == {"LOGIN", "PLAIN"}
        assert not session.capabilities.starttls
        run_transaction(session, "a@example.org", ["t@example.net"], [b"x\r\n"]).raise_for_msmtp()
    assert server.messages[0].data == b"x\r\n"


def test_implicit_tls(smtp_server):
    server = smtp_server(mode="smtps")
    with Session.open(server.account()) as session:
        assert session.tls_active and session.tls_info.protocol.startswith("TLSv1.")
        assert session.capabilities_before_tls is None


def test_starttls_not_offered_stops_before_anything_is_sent(scripted_server):
    def script(peer):
        peer.send("220 hi")
        peer.line()
        peer.send("250-x", "250 PIPELINING")
        peer.line()

    server = scripted_server(script)
    with pytest.raises(DeliveryError) as caught:
        Session.open(tls_account(server.port))
    assert caught.value.message == "the server does not support TLS via the STARTTLS command"
    assert caught.value.exit_code == ExitCode.EX_UNAVAILABLE
    server.stop()
    assert server.peer.lines == ["EHLO localhost"]


def test_starttls_answered_454_never_continues_in_plain_text(scripted_server):
    def script(peer):
        peer.send("220 hi")
        peer.line()
        peer.send("250-x", "250 STARTTLS")
        peer.line()
        peer.send("454 4.7.0 TLS not available")
        peer.line()

    server = scripted_server(script)
    with pytest.raises(DeliveryError) as caught:
        Session.open(tls_account(server.port))
    assert caught.value.message == "command STARTTLS failed"
    assert caught.value.exit_code == ExitCode.EX_PROTOCOL
    assert caught.value.smtp_message == ("454 4.7.0 TLS not available",)
    server.stop()
    assert server.peer.lines == ["EHLO localhost", "STARTTLS"]


def test_plain_text_piggybacked_on_the_220_is_refused(scripted_server):
    def script(peer):  # CVE-2011-0411 style injection
        peer.send("220 hi")
        peer.line()
        peer.send("250-x", "250 STARTTLS")
        peer.line()
        peer.send("220 go ahead", "250 injected")
        peer.line()

    server = scripted_server(script)
    with pytest.raises(DeliveryError) as caught:
        Session.open(tls_account(server.port))
    assert caught.value.message == "command STARTTLS failed"


def test_implicit_tls_against_a_plain_server_is_a_handshake_failure(scripted_server):
    def script(peer):
        peer.send("220 plain text here")
        peer.line()

    server = scripted_server(script)
    with pytest.raises(DeliveryError) as caught:
        Session.open(tls_account(server.port, tls_starttls=False))
    assert caught.value.message == "TLS handshake failed: An unexpected TLS packet was received."
    assert caught.value.exit_code == ExitCode.EX_PROTOCOL


def test_a_stalled_handshake_times_out(scripted_server):
    server = scripted_server(lambda peer: time.sleep(3))
    with pytest.raises(DeliveryError) as caught:
        Session.open(tls_account(server.port, tls_starttls=False, timeout=1))
    assert caught.value.message == "TLS handshake failed: Error in the pull function."
    assert caught.value.exit_code == ExitCode.EX_PROTOCOL


def test_a_client_certificate_is_presented(smtp_server, tls_material):
    server = smtp_server(mode="smtps", require_client_cert=True)
    account = server.account(tls_cert_file=str(tls_material.client_cert_file),
                             tls_key_file=str(tls_material.client_key_file))
    with Session.open(account) as session:
        run_transaction(session, "a@example.org", ["t@example.net"], [b"x\r\n"]).raise_for_msmtp()


def test_a_missing_client_certificate_is_ex_noinput(smtp_server, tmp_path):
    server = smtp_server(mode="smtps")
    missing = str(tmp_path / "missing.pem")
    with pytest.raises(DeliveryError) as caught:
        Session.open(server.account(tls_cert_file=missing, tls_key_file=missing))
    assert caught.value.message == (f"cannot set X509 key file {missing} and/or X509 cert file "
                                    f"{missing} for TLS session: Error while reading file.")
    assert caught.value.exit_code == ExitCode.EX_NOINPUT
