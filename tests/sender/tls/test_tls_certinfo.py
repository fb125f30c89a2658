"""Certificate information and msmtp's ``--serverinfo`` text (compared with the real msmtp)."""

from __future__ import annotations

import hashlib
import subprocess

import pytest

from smtpq.sender.config.settings import Account
from smtpq.sender.protocol.describe import describe_server, describe_size
from smtpq.sender.protocol.session import Session
from smtpq.sender.tls.certinfo import CertificateInfo, format_fingerprint
from tests.support.programs import msmtp_binary


def test_certificate_info_of_an_unverified_certificate(smtp_server, tls_material):
    server = smtp_server(mode="smtps", cert="untrusted")
    with Session.open(server.account(tls_certcheck=False)) as session:
        info = session.tls_info
    der = tls_material.der("untrusted")
    assert info.certificate == CertificateInfo.from_der(der)
    assert info.certificate.sha256 == hashlib.sha256(der).digest()
    assert [label for label, _ in info.certificate.subject] == ["O", "OU", "CN"]  # cert order
    assert info.certificate.subject[2] == ("CN", "localhost")
    assert [label for label, _ in info.certificate.issuer] == ["O", "OU"]
    assert info.certificate.not_after.year == 3000
    assert info.protocol == "TLSv1.3" and info.cipher and info.bits >= 128


def test_fingerprints_are_formatted_as_msmtp_takes_them():
    assert format_fingerprint(bytes([0, 17, 170, 255])) == "00:11:AA:FF"


@pytest.mark.parametrize(("size", "text"), [
    (0, "Maximum message size is unlimited"),
    (1024, "Maximum message size is 1024 bytes"),
    (2048, "Maximum message size is 2048 bytes = 2.00 KiB"),
    (10240000, "Maximum message size is 10240000 bytes = 9.77 MiB"),
])
def test_size_descriptions(size, text):
    assert describe_size(size) == text


def ehlo_script(*capabilities: str):
    def script(peer):
        peer.send("220 fake.example ESMTP ready")
        while line := peer.line():
            if line.startswith("EHLO"):
                lines = ["fake.example", *capabilities]
                peer.send(*[f"250-{x}" for x in lines[:-1]], f"250 {lines[-1]}")
            else:
                peer.send("221 bye")
                return
    return script


def msmtp_serverinfo(port: int, *options: str) -> str:
    done = subprocess.run([msmtp_binary(), "--host=127.0.0.1", f"--port={port}", "--serverinfo",
                           *options], capture_output=True, text=True, timeout=30, check=True)
    return done.stdout


def ours(account: Account) -> str:
    with Session.open(account) as session:
        return describe_server(session)


@pytest.mark.msmtp
@pytest.mark.parametrize("capabilities", [
    ("SIZE 10240000", "PIPELINING", "ETRN", "DSN", "STARTTLS", "AUTH PLAIN LOGIN", "8BITMIME"),
    ("AUTH XOAUTH2 OAUTHBEARER NTLM LOGIN EXTERNAL GSSAPI DIGEST-MD5 CRAM-MD5 SCRAM-SHA-256 "
     "SCRAM-SHA-1 PLAIN", "SIZE 0"),
    ("8BITMIME",),
    ("SIZE 2048", "AUTH=LOGIN"),
])
def test_serverinfo_matches_msmtp(scripted_server, capabilities):
    server = scripted_server(ehlo_script(*capabilities))
    expected = msmtp_serverinfo(server.port)
    assert ours(Account(host="127.0.0.1", port=server.port, timeout=5)) == expected


@pytest.mark.msmtp
def test_serverinfo_with_tls_matches_msmtp_but_for_the_session_line(smtp_server):
    server = smtp_server(mode="smtps")
    expected = msmtp_serverinfo(server.port, "--tls", "--tls-starttls=off",
                                "--tls-certcheck=off").splitlines()
    actual = ours(server.account(tls_certcheck=False)).splitlines()
    session_line = expected.index("TLS session parameters:") + 1
    assert actual[session_line].startswith("    (TLS1.3)-(")
    del expected[session_line], actual[session_line]
    assert actual == expected
