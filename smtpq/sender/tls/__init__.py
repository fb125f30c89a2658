"""TLS for the SMTP session: contexts from account settings, checks, certificate information."""

from smtpq.sender.tls.certinfo import (
    CertificateInfo,
    TlsSessionInfo,
    format_fingerprint,
    format_tls_info,
)
from smtpq.sender.tls.context import Check, TlsPolicy, build_policy
from smtpq.sender.tls.handshake import start_tls

__all__ = [
    "CertificateInfo", "Check", "TlsPolicy", "TlsSessionInfo", "build_policy",
    "format_fingerprint", "format_tls_info", "start_tls",
]
