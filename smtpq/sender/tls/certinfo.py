"""Certificate and session information for ``--serverinfo`` (msmtp's ``mtls_cert_info``).

Parsed with ``cryptography`` from the DER certificate, so unverified
certificates (``tls_certcheck off``) are described too.  ``format_tls_info``
renders msmtp's "TLS session parameters" and "TLS certificate information"
blocks.  Python's ``ssl`` does not expose the key-exchange group or the
signature algorithm of the handshake, so the session line shows what it can:
``(TLS1.3)-(TLS_AES_256_GCM_SHA384)`` where GnuTLS shows
``(TLS1.3)-(ECDHE-SECP256R1)-(RSA-PSS-RSAE-SHA256)-(AES-256-GCM)``.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import hashlib
import ssl
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography import x509


def format_fingerprint(digest: bytes) -> str:
    """``DA:F3:…`` as msmtp prints and ``tls_fingerprint`` takes it."""
    return ":".join(f"{byte:02X}" for byte in digest)


def _name_fields(name: x509.Name) -> tuple[tuple[str, str], ...]:
    """(label, RFC 4514-escaped value) in the certificate's own order, as msmtp prints them."""
    return tuple(tuple(attribute.rfc4514_string().split("=", 1))  # type: ignore[misc]
                 for rdn in name.rdns for attribute in rdn)


@dataclasses.dataclass(frozen=True)
class CertificateInfo:
    """The server certificate as msmtp describes it."""

    der: bytes = dataclasses.field(repr=False)
    subject: tuple[tuple[str, str], ...]
    issuer: tuple[tuple[str, str], ...]
    not_before: datetime.datetime  # UTC
    not_after: datetime.datetime  # UTC
    sha256: bytes
    sha1: bytes

    @classmethod
    def from_der(cls, der: bytes) -> CertificateInfo:
        from cryptography import x509  # only when a certificate is looked at

        cert = x509.load_der_x509_certificate(der)
        return cls(der, _name_fields(cert.subject), _name_fields(cert.issuer),
                   cert.not_valid_before_utc, cert.not_valid_after_utc,
                   hashlib.sha256(der).digest(),
                   hashlib.sha1(der, usedforsecurity=False).digest())

    @staticmethod
    def name_text(fields: tuple[tuple[str, str], ...]) -> str:
        return ",".join(f"{label}={value}" for label, value in fields)


@dataclasses.dataclass(frozen=True)
class TlsSessionInfo:
    """Negotiated parameters and the server certificate of one TLS session."""

    protocol: str  # "TLSv1.3"
    cipher: str  # "TLS_AES_256_GCM_SHA384"
    bits: int
    der: bytes | None = dataclasses.field(default=None, repr=False)  # server certificate

    @classmethod
    def from_socket(cls, tls: ssl.SSLSocket) -> TlsSessionInfo:
        name, _version, bits = tls.cipher() or ("", "", 0)
        return cls(tls.version() or "", name, bits or 0, tls.getpeercert(binary_form=True))

    @functools.cached_property
    def certificate(self) -> CertificateInfo | None:
        """Parsed on first use (``cryptography`` is imported only then)."""
        return CertificateInfo.from_der(self.der) if self.der else None

    @property
    def description(self) -> str:
        return f"({self.protocol.replace('TLSv', 'TLS')})-({self.cipher})"


def _ctime(moment: datetime.datetime) -> str:
    return time.ctime(moment.timestamp())  # local time, as msmtp's ctime()


def format_tls_info(info: TlsSessionInfo) -> list[str]:
    """The two TLS blocks of msmtp's ``--serverinfo`` output, as lines."""
    lines = ["TLS session parameters:", f"    {info.description}"]
    cert = info.certificate
    if cert is None:
        return lines
    lines += [
        "TLS certificate information:",
        "    Subject:", f"        {cert.name_text(cert.subject)}",
        "    Issuer:", f"        {cert.name_text(cert.issuer)}",
        "    Validity:",
        f"        Activation time: {_ctime(cert.not_before)}",
        f"        Expiration time: {_ctime(cert.not_after)}",
        "    Fingerprints:",
        f"        SHA256: {format_fingerprint(cert.sha256)}",
        f"        SHA1 (deprecated): {format_fingerprint(cert.sha1)}",
    ]
    return lines
