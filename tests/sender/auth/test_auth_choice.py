"""How the method is chosen: ``auth on`` preferences, explicit methods, and the refusals.

The order and the texts were verified against msmtp 1.8.23 by taking the
announced methods away one by one (see the module docstring of
``smtpq.sender.auth.choice``).
"""

from __future__ import annotations

import pytest

from smtpq.sender.auth.choice import PLAINTEXT_ORDER, TLS_ORDER, announces, choose_method
from smtpq.sender.config.settings import AUTH_CHOOSE
from smtpq.sender.errors import DeliveryError
from smtpq.sender.sysexits import ExitCode
from tests.sender.auth.conftest import USERS

EVERYTHING = frozenset({"LOGIN", "CRAM-MD5", "NTLM", "DIGEST-MD5", "PLAIN", "SCRAM-SHA-1",
                        "SCRAM-SHA-256", "GSSAPI", "XOAUTH2", "OAUTHBEARER", "EXTERNAL"})


def refusal(auth: str, methods, tls: bool) -> DeliveryError:
    with pytest.raises(DeliveryError) as caught:
        choose_method(auth, methods, tls)
    assert caught.value.exit_code == ExitCode.EX_UNAVAILABLE
    return caught.value


def test_with_tls_auth_on_takes_msmtps_order():
    methods = set(EVERYTHING)
    chosen = []
    while True:
        try:
            method = choose_method(AUTH_CHOOSE, methods, tls_active=True)
        except DeliveryError:
            break
        chosen.append(method)
        methods.discard(method)
    assert chosen == list(TLS_ORDER) == ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-1", "CRAM-MD5",
                                         "DIGEST-MD5", "LOGIN", "NTLM"]


def test_without_tls_auth_on_takes_only_scram():
    assert PLAINTEXT_ORDER == ("SCRAM-SHA-256", "SCRAM-SHA-1")
    assert choose_method(AUTH_CHOOSE, EVERYTHING, tls_active=False) == "SCRAM-SHA-256"
    assert choose_method(AUTH_CHOOSE, {"PLAIN", "SCRAM-SHA-1"}, tls_active=False) == "SCRAM-SHA-1"


@pytest.mark.parametrize("methods", [{"PLAIN", "LOGIN"}, {"CRAM-MD5", "DIGEST-MD5", "NTLM"},
                                     {"GSSAPI", "EXTERNAL", "XOAUTH2", "OAUTHBEARER"}])
def test_without_tls_nothing_else_is_secure_enough(methods):
    assert refusal(AUTH_CHOOSE, methods, False).message == \
        "cannot use a secure authentication method"


def test_with_tls_and_nothing_usable_is_a_different_message():
    assert refusal(AUTH_CHOOSE, {"GSSAPI", "XOAUTH2", "OAUTHBEARER", "EXTERNAL"}, True).message \
        == "cannot find a usable authentication method"


@pytest.mark.parametrize("tls", [False, True])
def test_no_auth_announced_at_all(tls):
    message = "the server does not support authentication"
    assert refusal("PLAIN", frozenset(), tls).message == message
    assert refusal(AUTH_CHOOSE, frozenset(), tls).message == \
        "the server does not support authentication"


@pytest.mark.parametrize("method", ["CRAM-MD5", "XOAUTH2", "PLAIN"])
def test_an_explicit_method_must_be_announced(method):
    assert refusal(method, {"LOGIN"}, True).message == \
        f"the server does not support authentication method {method}"


@pytest.mark.parametrize("method", ["PLAIN", "LOGIN", "GSSAPI", "EXTERNAL", "XOAUTH2"])
def test_an_explicit_method_is_used_even_without_tls(method):
    """The user forced it; msmtp does not second-guess."""
    assert choose_method(method, EVERYTHING, tls_active=False) == method


def test_the_announcement_is_matched_as_a_substring_as_msmtp_does():
    """msmtp uses strstr on the AUTH line: SCRAM-SHA-1-PLUS counts as SCRAM-SHA-1."""
    assert announces({"SCRAM-SHA-1-PLUS"}, "SCRAM-SHA-1")
    assert choose_method(AUTH_CHOOSE, {"SCRAM-SHA-1-PLUS"}, tls_active=False) == "SCRAM-SHA-1"
    assert announces({"plain"}, "PLAIN")
    assert not announces({"LOGIN"}, "PLAIN")


# -- the same decisions on a real session --------------------------------------

def test_auth_on_over_starttls_uses_plain(sasl_server, authenticate_to):
    server = sasl_server(mode="starttls")
    method, _ = authenticate_to(server, auth=AUTH_CHOOSE, user="bob", password=USERS["bob"])
    assert method == "PLAIN"


def test_auth_on_without_tls_uses_scram(sasl_server, authenticate_to):
    server = sasl_server()
    method, _ = authenticate_to(server, auth=AUTH_CHOOSE, user="bob", password=USERS["bob"])
    assert method == "SCRAM-SHA-256"


def test_auth_on_without_tls_refuses_plain_and_login_before_sending_anything(
        sasl_server, authenticate_to):
    server = sasl_server(mechanisms=["PLAIN", "LOGIN", "CRAM-MD5"])
    with pytest.raises(DeliveryError) as caught:
        authenticate_to(server, auth=AUTH_CHOOSE, user="bob", password=USERS["bob"])
    assert caught.value.message == "cannot use a secure authentication method"
    assert server.handler.attempts == []


def test_explicit_plain_without_tls_is_allowed(sasl_server, authenticate_to):
    server = sasl_server(mechanisms=["PLAIN"])
    assert authenticate_to(server, auth="PLAIN", user="bob", password=USERS["bob"])[0] == "PLAIN"


def test_a_server_without_auth(smtp_server, authenticate_to):
    server = smtp_server()  # no credentials: aiosmtpd announces no AUTH
    with pytest.raises(DeliveryError) as caught:
        authenticate_to(server, auth="PLAIN", user="bob", password="x")
    assert caught.value.message == "the server does not support authentication"
    assert caught.value.exit_code == ExitCode.EX_UNAVAILABLE


def test_methods_other_than_external_need_a_user(sasl_server, authenticate_to):
    server = sasl_server()
    cases = [(AUTH_CHOOSE, "SCRAM-SHA-256"), ("PLAIN", "PLAIN"), ("XOAUTH2", "XOAUTH2")]
    for auth, method in cases:
        with pytest.raises(DeliveryError) as caught:
            authenticate_to(server, auth=auth, password="x")
        assert caught.value.message == f"authentication method {method} needs a user name"
        assert caught.value.exit_code == ExitCode.EX_UNAVAILABLE
