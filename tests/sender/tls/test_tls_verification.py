"""Server certificate checks as msmtp (GnuTLS) words them: trust file, host name, fingerprint."""

from __future__ import annotations

import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from smtpq.sender.errors import ConfigError, DeliveryError
from smtpq.sender.protocol.session import Session
from smtpq.sender.sysexits import ExitCode

NOT_TRUSTED = "TLS certificate verification failed: The certificate is NOT trusted. "
ISSUER = "The certificate issuer is unknown. "
NAME = "The name in the certificate does not match the expected. "
EXPIRED = "The certificate chain uses expired certificate. "
REVOKED = "The certificate chain is revoked. "


def refused(account) -> DeliveryError:
    with pytest.raises(DeliveryError) as caught:
        Session.open(account)
    return caught.value


@pytest.fixture(params=["starttls", "smtps"])
def mode(request):
    return request.param


def test_a_certificate_from_the_trusted_ca_passes(smtp_server, mode):
    with Session.open(smtp_server(mode=mode).account()) as session:
        assert session.tls_active


def test_an_unknown_issuer_is_refused(smtp_server, mode):
    error = refused(smtp_server(mode=mode, cert="untrusted").account())
    assert error.message == NOT_TRUSTED + ISSUER
    assert error.exit_code == ExitCode.EX_UNAVAILABLE


def test_a_wrong_host_name_is_refused(smtp_server, mode):
    error = refused(smtp_server(mode=mode, cert="wrong_host").account())
    assert error.message == NOT_TRUSTED + NAME
    assert error.exit_code == ExitCode.EX_UNAVAILABLE


def test_unknown_issuer_and_wrong_name_are_both_reported(smtp_server):
    server = smtp_server(mode="smtps", cert="wrong_host")
    error = refused(server.account(tls_trust_file="system"))
    assert error.message == NOT_TRUSTED + ISSUER + NAME


def test_an_expired_certificate_is_refused(smtp_server):
    error = refused(smtp_server(mode="smtps", cert="expired").account())
    assert error.message == NOT_TRUSTED + EXPIRED


def test_tls_host_override_names_the_expected_host(smtp_server):
    server = smtp_server(mode="smtps", cert="wrong_host")
    with Session.open(server.account(tls_host_override="wrong.example")) as session:
        assert session.tls_active


@pytest.mark.parametrize("algorithm", ["sha256", "sha1", "md5"])
def test_a_matching_fingerprint_trusts_any_certificate(smtp_server, tls_material, algorithm):
    server = smtp_server(mode="smtps", cert="untrusted")
    account = server.account(tls_trust_file=None,
                             tls_fingerprint=tls_material.fingerprint("untrusted", algorithm))
    with Session.open(account) as session:
        assert session.tls_active


def test_a_fingerprint_overrides_the_trust_file(smtp_server, tls_material):
    server = smtp_server(mode="starttls", cert="untrusted")
    account = server.account(tls_fingerprint=tls_material.fingerprint("untrusted"))
    with Session.open(account) as session:
        assert session.tls_active


def test_a_different_fingerprint_is_refused(smtp_server, tls_material, mode):
    server = smtp_server(mode=mode)
    error = refused(server.account(tls_fingerprint=tls_material.fingerprint("untrusted")))
    assert error.message == ("TLS certificate verification failed: "
                             "the certificate fingerprint does not match")
    assert error.exit_code == ExitCode.EX_UNAVAILABLE


def test_certcheck_off_accepts_anything(smtp_server, tls_material):
    server = smtp_server(mode="smtps", cert="untrusted")
    account = server.account(tls_certcheck=False, tls_trust_file="system",
                             tls_fingerprint=tls_material.fingerprint("good"))
    with Session.open(account) as session:
        assert session.tls_active


def test_no_trust_and_no_fingerprint_is_a_configuration_error(smtp_server):
    server = smtp_server(mode="smtps")
    with pytest.raises(ConfigError) as caught:
        Session.open(server.account(tls_trust_file=None))
    assert caught.value.message == ("tls requires either tls_trust_file (highly recommended) "
                                    "or tls_fingerprint or a disabled tls_certcheck")
    assert caught.value.exit_code == ExitCode.EX_CONFIG


def test_a_missing_trust_file_is_ex_noinput(smtp_server, tmp_path):
    missing = tmp_path / "missing.pem"
    error = refused(smtp_server(mode="smtps").account(tls_trust_file=str(missing)))
    assert error.message == (f"cannot set X509 trust file {missing} for TLS session: "
                             "Error while reading file.")
    assert error.exit_code == ExitCode.EX_NOINPUT


def test_a_trust_file_without_certificates_is_ex_noinput(smtp_server, tmp_path):
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    error = refused(smtp_server(mode="smtps").account(tls_trust_file=str(junk)))
    assert error.message == f"cannot set X509 trust file {junk} for TLS session: Success."
    assert error.exit_code == ExitCode.EX_NOINPUT


def test_a_bad_crl_file_is_ex_noinput(smtp_server, tmp_path):
    server = smtp_server(mode="smtps")
    missing, junk = tmp_path / "missing.crl", tmp_path / "junk.crl"
    junk.write_text("junk\n")
    error = refused(server.account(tls_crl_file=str(missing)))
    assert error.message == (f"cannot set X509 CRL file {missing} for TLS session: "
                             "Error while reading file.")
    assert error.exit_code == ExitCode.EX_NOINPUT
    error = refused(server.account(tls_crl_file=str(junk)))
    assert error.message.endswith(": Base64 decoding error.")


def _crl(tls_material, revoked: bool) -> bytes:
    ca_cert = x509.load_pem_x509_certificate(tls_material.ca.cert_pem.bytes())
    key = serialization.load_pem_private_key(tls_material.ca.private_key_pem.bytes(), None)
    leaf = x509.load_der_x509_certificate(tls_material.der("good"))
    now = datetime.datetime.now(datetime.UTC)
    builder = (x509.CertificateRevocationListBuilder().issuer_name(ca_cert.subject)
               .last_update(now - datetime.timedelta(days=1))
               .next_update(now + datetime.timedelta(days=30)))
    if revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(leaf.serial_number)
            .revocation_date(now - datetime.timedelta(hours=1)).build())
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


@pytest.mark.parametrize("revoked", [False, True])
def test_a_crl_file_revokes_the_server_certificate(smtp_server, tls_material, tmp_path, revoked):
    crl = tmp_path / "ca.crl"
    crl.write_bytes(_crl(tls_material, revoked))
    account = smtp_server(mode="smtps").account(tls_crl_file=str(crl))
    if not revoked:
        with Session.open(account) as session:
            assert session.tls_active
        return
    assert refused(account).message == NOT_TRUSTED + REVOKED
