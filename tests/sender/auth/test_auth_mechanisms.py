"""Every SASL mechanism against a real aiosmtpd server on 127.0.0.1.

The server sides are written from the RFCs (``tests/support/sasl_handlers.py``)
and were checked against the real msmtp 1.8.23 (GNU SASL) as well.
"""

from __future__ import annotations

import pytest

from smtpq.sender.errors import DeliveryError
from smtpq.sender.sysexits import ExitCode
from tests.sender.auth.conftest import TOKENS, USERS

PASSWORD_METHODS = ("PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-1", "SCRAM-SHA-256", "DIGEST-MD5")
REJECTION = "535 5.7.8 Authentication credentials invalid"


@pytest.fixture
def ntlm_users(tmp_path, monkeypatch):
    """pyspnego's NTLM acceptor reads its users from ``NTLM_USER_FILE``."""
    path = tmp_path / "ntlm-users"
    path.write_text("".join(f"TESTDOM:{user}:{pw}\n" for user, pw in USERS.items()))
    monkeypatch.setenv("NTLM_USER_FILE", str(path))


@pytest.mark.parametrize("method", PASSWORD_METHODS)
def test_the_right_password_authenticates(sasl_server, authenticate_to, method):
    server = sasl_server()
    used, _ = authenticate_to(server, auth=method, user="bob", password=USERS["bob"])
    assert used == method
    assert server.handler.attempts[-1] == (method, "bob", True)


@pytest.mark.parametrize("method", PASSWORD_METHODS)
def test_a_wrong_password_is_authentication_failed_exit_77(sasl_server, authenticate_to, method):
    server = sasl_server()
    with pytest.raises(DeliveryError) as caught:
        authenticate_to(server, auth=method, user="bob", password="wrong")
    assert caught.value.message == f"authentication failed (method {method})"
    assert caught.value.exit_code == ExitCode.EX_NOPERM
    assert caught.value.smtp_status == 535
    assert caught.value.details == (f"server message: {REJECTION}",)


def test_a_user_unknown_to_the_server_fails_like_a_wrong_password(sasl_server, authenticate_to):
    server = sasl_server()
    with pytest.raises(DeliveryError) as caught:
        authenticate_to(server, auth="SCRAM-SHA-256", user="mallory", password="x")
    assert caught.value.exit_code == ExitCode.EX_NOPERM


def test_utf8_passwords_go_through_scram_saslprep(smtp_server, authenticate_to):
    from tests.support.sasl_handlers import SaslHandler

    users = {"zoë": "pässwörd"}
    server = smtp_server(handler=SaslHandler(users), credentials=users, auth_require_tls=False)
    for method in ("SCRAM-SHA-256", "CRAM-MD5", "PLAIN"):
        assert authenticate_to(server, auth=method, user="zoë", password="pässwörd")[0] == method


def test_ntlm_authenticates_through_pyspnego(sasl_server, authenticate_to, ntlm_users):
    server = sasl_server()
    assert authenticate_to(server, auth="NTLM", user="bob", password=USERS["bob"],
                           ntlmdomain="TESTDOM")[0] == "NTLM"
    assert server.handler.attempts[-1][0] == "NTLM"
    assert server.handler.attempts[-1][2] is True


def test_ntlm_with_a_wrong_password_is_exit_77(sasl_server, authenticate_to, ntlm_users):
    server = sasl_server()
    with pytest.raises(DeliveryError) as caught:
        authenticate_to(server, auth="NTLM", user="bob", password="wrong", ntlmdomain="TESTDOM")
    assert caught.value.message == "authentication failed (method NTLM)"
    assert caught.value.exit_code == ExitCode.EX_NOPERM


@pytest.mark.parametrize("method", ["OAUTHBEARER", "XOAUTH2"])
def test_a_bearer_token_is_the_password(sasl_server, authenticate_to, method):
    server = sasl_server()
    assert authenticate_to(server, auth=method, user="bob", password=TOKENS["bob"])[0] == method
    assert server.handler.oauth_fields[-1]["auth"] == f"Bearer {TOKENS['bob']}"


def test_oauthbearer_names_host_and_port(sasl_server, authenticate_to):
    """RFC 7628 §3.1 key-values, as msmtp sends them."""
    server = sasl_server()
    authenticate_to(server, auth="OAUTHBEARER", user="bob", password=TOKENS["bob"])
    fields = server.handler.oauth_fields[-1]
    assert fields["host"] == "127.0.0.1"
    assert fields["port"] == str(server.port)


@pytest.mark.parametrize("method", ["OAUTHBEARER", "XOAUTH2"])
def test_a_rejected_token_answers_the_error_challenge_then_fails(sasl_server, authenticate_to,
                                                                method):
    """RFC 7628 §3.2.2: the client must answer the error challenge; the server then says 535."""
    server = sasl_server()
    with pytest.raises(DeliveryError) as caught:
        authenticate_to(server, auth=method, user="bob", password="expired-token")
    assert caught.value.message == f"authentication failed (method {method})"
    assert caught.value.exit_code == ExitCode.EX_NOPERM
    # the handler says "invalid token" only when the answer was the expected one
    assert caught.value.details == ("server message: 535 5.7.8 invalid token",)


def test_external_uses_the_tls_client_certificate(sasl_server, authenticate_to, tls_material):
    server = sasl_server(mode="starttls", require_client_cert=True)
    used, _ = authenticate_to(server, auth="EXTERNAL",
                              tls_cert_file=str(tls_material.client_cert_file),
                              tls_key_file=str(tls_material.client_key_file))
    assert used == "EXTERNAL"
    assert server.handler.attempts[-1] == ("EXTERNAL", "", True)


def test_external_sends_the_user_as_authorization_identity(sasl_server, authenticate_to,
                                                           tls_material):
    server = sasl_server(mode="starttls", require_client_cert=True,
                         handler_options={"external_identities": ("bob",)})
    authenticate_to(server, auth="EXTERNAL", user="bob",
                    tls_cert_file=str(tls_material.client_cert_file),
                    tls_key_file=str(tls_material.client_key_file))
    assert server.handler.attempts[-1] == ("EXTERNAL", "bob", True)


def test_scram_does_not_trust_a_server_that_cannot_prove_the_password(sasl_server,
                                                                      authenticate_to):
    """RFC 5802 §5.1: a wrong server signature ends the exchange (msmtp: a GNU SASL error)."""
    server = sasl_server(handler_options={"scram_forge_signature": True})
    with pytest.raises(DeliveryError) as caught:
        authenticate_to(server, auth="SCRAM-SHA-256", user="bob", password=USERS["bob"])
    assert caught.value.message == "GNU SASL: Error authenticating user"
    assert caught.value.exit_code == ExitCode.EX_SOFTWARE


def test_digest_md5_names_the_smtp_service_on_the_host(sasl_server, authenticate_to):
    server = sasl_server()
    authenticate_to(server, auth="DIGEST-MD5", user="bob", password=USERS["bob"])
    assert server.handler.digest_uri == "smtp/127.0.0.1"
