"""GSSAPI (RFC 4752): without a Kerberos ticket (or the ``gssapi`` module) it fails like msmtp.

msmtp 1.8.23 makes its first token before sending ``AUTH GSSAPI``; with no ticket
it prints GNU SASL's ``gss_init_sec_context`` text and exits 70 without having
sent anything, and never asks for a password (observed).  A full exchange needs
a KDC: see ``test_auth_kerberos.py``.
"""

from __future__ import annotations

import pytest

from smtpq.sender.auth.authenticate import authenticate
from smtpq.sender.config.settings import Account
from smtpq.sender.errors import DeliveryError
from smtpq.sender.protocol.session import Session
from smtpq.sender.sysexits import ExitCode

GSSAPI_ERROR = ("GNU SASL: GSSAPI error in client while negotiating security context in "
                "gss_init_sec_context() in SASL library.  This is most likely due insufficient "
                "credentials or malicious interactions.")


def gssapi_server(scripted_server):
    def script(peer):
        peer.send("220 kerberized ESMTP")
        peer.expect("EHLO")
        peer.send("250-kerberized", "250 AUTH GSSAPI")
        while peer.line():
            peer.send("535 5.7.8 unexpected")
    return scripted_server(script)


@pytest.fixture
def no_ticket(monkeypatch, tmp_path):
    monkeypatch.setenv("KRB5CCNAME", f"FILE:{tmp_path / 'no-ccache'}")
    monkeypatch.setenv("KRB5_CONFIG", str(tmp_path / "no-krb5.conf"))


def test_without_a_ticket_gssapi_fails_before_sending_auth(scripted_server, no_ticket,
                                                           no_password_sources):
    server = gssapi_server(scripted_server)
    account = Account(host="127.0.0.1", port=server.port, auth="GSSAPI", user="bob")
    with pytest.raises(DeliveryError) as caught, Session.open(account) as session:
        authenticate(session, account)
    assert caught.value.message == GSSAPI_ERROR
    assert caught.value.exit_code == ExitCode.EX_SOFTWARE
    assert not any(line.upper().startswith("AUTH") for line in server.peer.lines)


def test_gssapi_needs_a_user_name_like_msmtp(scripted_server, no_ticket):
    server = gssapi_server(scripted_server)
    account = Account(host="127.0.0.1", port=server.port, auth="GSSAPI")
    with pytest.raises(DeliveryError) as caught, Session.open(account) as session:
        authenticate(session, account)
    assert caught.value.message == "authentication method GSSAPI needs a user name"
    assert caught.value.exit_code == ExitCode.EX_UNAVAILABLE


def test_gssapi_is_never_chosen_by_auth_on(scripted_server, no_ticket):
    server = gssapi_server(scripted_server)
    account = Account(host="127.0.0.1", port=server.port, auth="", user="bob", password="x")
    with pytest.raises(DeliveryError) as caught, Session.open(account) as session:
        authenticate(session, account)
    assert caught.value.message == "cannot use a secure authentication method"
