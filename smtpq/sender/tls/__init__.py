"""TLS for the SMTP session: contexts from account settings, checks, certificate information.

The names below are imported on first use, like ``smtpq.sender.protocol``'s:
they load ``ssl`` (about 9 ms of CPU, and libssl), which a session
without TLS never needs, and importing one submodule (``.hints``) must not load
the others (docs/performance.md, direct send).
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (import cost)
if TYPE_CHECKING:
    from smtpq.sender.tls.certinfo import (
        CertificateInfo,
        TlsSessionInfo,
        format_fingerprint,
        format_tls_info,
    )
    from smtpq.sender.tls.context import Check, TlsPolicy, build_policy
    from smtpq.sender.tls.handshake import start_tls

_EXPORTS = {
    "CertificateInfo": "certinfo", "TlsSessionInfo": "certinfo",
    "format_fingerprint": "certinfo", "format_tls_info": "certinfo",
    "Check": "context", "TlsPolicy": "context", "build_policy": "context",
    "start_tls": "handshake",
}

__all__ = [
    "CertificateInfo", "Check", "TlsPolicy", "TlsSessionInfo", "build_policy",
    "format_fingerprint", "format_tls_info", "start_tls",
]


def __getattr__(name: str) -> object:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = __import__(f"{__name__}.{_EXPORTS[name]}", fromlist=[name])
    return getattr(module, name)
