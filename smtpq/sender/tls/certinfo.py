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

import functools
import time

from smtpq.sender.record import FrozenRecord

# typing.TYPE_CHECKING without importing typing (import cost: a TLS --send-now
# loads this module); datetime and ssl are only named in annotations.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import datetime
    import ssl

    from cryptography import x509


def format_fingerprint(digest: bytes) -> str:
    """``DA:F3:…`` as msmtp prints and ``tls_fingerprint`` takes it."""
    return ":".join(f"{byte:02X}" for byte in digest)


def _name_fields(name: x509.Name) -> tuple[tuple[str, str], ...]:
    """(label, RFC 4514-escaped value) in the certificate's own order, as msmtp prints them."""
    return tuple(_label_value(attribute.rfc4514_string())
                 for rdn in name.rdns for attribute in rdn)


def _label_value(rfc4514: str) -> tuple[str, str]:
    label, _, value = rfc4514.partition("=")
    return label, value


class CertificateInfo(FrozenRecord):
    """The server certificate as msmtp describes it.

    A record, not a dataclass (import cost: smtpq.sender.record).
    """

    __slots__ = ("der", "issuer", "not_after", "not_before", "sha1", "sha256", "subject")
    FIELDS = ("der", "subject", "issuer", "not_before", "not_after", "sha256", "sha1")
    REPR_HIDDEN = frozenset({"der"})

    der: bytes
    subject: tuple[tuple[str, str], ...]
    issuer: tuple[tuple[str, str], ...]
    not_before: datetime.datetime  # UTC
    not_after: datetime.datetime  # UTC
    sha256: bytes
    sha1: bytes

    def __init__(self, der: bytes, subject: tuple[tuple[str, str], ...],
                 issuer: tuple[tuple[str, str], ...], not_before: datetime.datetime,
                 not_after: datetime.datetime, sha256: bytes, sha1: bytes) -> None:
        self._freeze(der=der, subject=subject, issuer=issuer, not_before=not_before,
                     not_after=not_after, sha256=sha256, sha1=sha1)

    @classmethod
    def from_der(cls, der: bytes) -> CertificateInfo:
        import hashlib  # only when a certificate is described (--serverinfo, --debug)

        from cryptography import x509  # only when a certificate is looked at

        cert = x509.load_der_x509_certificate(der)
        return cls(der, _name_fields(cert.subject), _name_fields(cert.issuer),
                   cert.not_valid_before_utc, cert.not_valid_after_utc,
                   hashlib.sha256(der).digest(),
                   hashlib.sha1(der, usedforsecurity=False).digest())

    @staticmethod
    def name_text(fields: tuple[tuple[str, str], ...]) -> str:
        return ",".join(f"{label}={value}" for label, value in fields)


class TlsSessionInfo(FrozenRecord):
    """Negotiated parameters and the server certificate of one TLS session.

    A record, not a dataclass (import cost: smtpq.sender.record); without
    ``__slots__``, so that :attr:`certificate` can be cached in the instance.
    """

    FIELDS = ("protocol", "cipher", "bits", "der")
    REPR_HIDDEN = frozenset({"der"})

    protocol: str  # "TLSv1.3"
    cipher: str  # "TLS_AES_256_GCM_SHA384"
    bits: int
    der: bytes | None  # server certificate

    def __init__(self, protocol: str, cipher: str, bits: int, der: bytes | None = None) -> None:
        self._freeze(protocol=protocol, cipher=cipher, bits=bits, der=der)

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
