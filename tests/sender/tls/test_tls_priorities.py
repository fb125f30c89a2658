"""tls_priorities / tls_min_dh_prime_bits mapped onto OpenSSL as far as it goes."""

from __future__ import annotations

import ssl

import pytest

from smtpq.sender.config.settings import Account
from smtpq.sender.errors import DeliveryError, TlsError
from smtpq.sender.protocol.session import Session
from smtpq.sender.sysexits import ExitCode
from smtpq.sender.tls.priorities import parse_priorities

V = ssl.TLSVersion


@pytest.mark.parametrize(("text", "versions"), [
    ("NORMAL", {V.TLSv1_2, V.TLSv1_3}),
    ("NORMAL:-VERS-TLS1.3", {V.TLSv1_2}),
    ("NORMAL:-VERS-TLS-ALL:+VERS-TLS1.3", {V.TLSv1_3}),
    ("SECURE256:+VERS-TLS1.0", {V.TLSv1, V.TLSv1_2, V.TLSv1_3}),
    ("NONE:+VERS-TLS1.2:+AES-256-GCM:+ECDHE-RSA:+SHA384:+COMP-NULL:+SIGN-ALL", {V.TLSv1_2}),
    ("PROTOCOLS=tlsv1.3 CIPHERS=ECDHE-RSA-AES128-SHA256 ECDHECURVES=P-384", {V.TLSv1_3}),
])
def test_protocol_versions(text, versions):
    assert parse_priorities(text).versions == versions


@pytest.mark.parametrize("text", ["NORMAL:%COMPAT", "NORMAL:+FOO", "@SYSTEM",
                                  "PFS:-VERS-TLS1.0:!CIPHER-ALL:+AES-128-GCM", "SUITEB128",
                                  "LEGACY", "PERFORMANCE:%SERVER_PRECEDENCE"])
def test_what_gnutls_accepts_is_accepted(text):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    parse_priorities(text).apply(context)
    assert context.get_ciphers()


@pytest.mark.parametrize(("text", "position"), [("FOO", 1), ("NORMAL:FOO", 8),
                                                 ("SECURE128:+VERS-TLS1.2:BAR", 24)])
def test_malformed_strings_are_rejected_as_gnutls_does(text, position):
    with pytest.raises(TlsError) as caught:
        parse_priorities(text)
    assert caught.value.message == ("cannot set priorities for TLS session: "
                                    f"error in priority string at position {position}")
    assert caught.value.exit_code == ExitCode.EX_SOFTWARE


def test_secure256_keeps_only_256_bit_ciphers():
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    parse_priorities("SECURE256").apply(context)
    tls12 = [c for c in context.get_ciphers() if c["protocol"] == "TLSv1.2"]
    assert tls12 and all(c["strength_bits"] == 256 for c in tls12)


@pytest.mark.parametrize(("bits", "level"), [(512, 0), (1024, 1), (2048, None), (4096, 3)])
def test_min_dh_prime_bits_becomes_a_security_level(bits, level):
    assert parse_priorities(None, bits).security_level == level


def test_a_version_the_server_refuses_fails_the_handshake(scripted_server, tls_material):
    server_context = tls_material.server_context()
    server_context.minimum_version = ssl.TLSVersion.TLSv1_3
    server = scripted_server(lambda peer: peer.start_tls(server_context))
    account = Account(host="127.0.0.1", port=server.port, timeout=5, tls=True,
                      tls_starttls=False, tls_certcheck=False,
                      tls_priorities="NORMAL:-VERS-TLS1.3")
    with pytest.raises(DeliveryError) as caught:
        Session.open(account)
    assert caught.value.message == "TLS handshake failed: A TLS fatal alert has been received."
    assert caught.value.exit_code == ExitCode.EX_PROTOCOL


def test_a_matching_version_restriction_connects(smtp_server):
    server = smtp_server(mode="smtps")
    with Session.open(server.account(tls_priorities="NORMAL:-VERS-TLS1.3")) as session:
        assert session.tls_info.protocol == "TLSv1.2"
