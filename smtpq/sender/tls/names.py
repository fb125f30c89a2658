"""Does a certificate name a host? (RFC 6125 §6.4) — used only to word error messages.

The trust decision is OpenSSL's (``check_hostname``); this check tells whether
"the name in the certificate does not match" belongs in a message about a
certificate that already failed for another reason, as GnuTLS reports both.
"""

from __future__ import annotations

import ipaddress


def _dns_match(pattern: str, host: str) -> bool:
    pattern, host = pattern.lower().rstrip("."), host.lower().rstrip(".")
    if pattern == host:
        return True
    # RFC 6125 §6.4.3: a wildcard only as the whole left-most label.
    if pattern.startswith("*.") and "." in host:
        return host.split(".", 1)[1] == pattern[2:]
    return False


def certificate_matches(der: bytes, host: str) -> bool:
    """True if the DER certificate's SAN (or, without SAN DNS names, its CN) names *host*."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError:
        return False
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (x509.ExtensionNotFound, ValueError):
        san = None
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None:
        return san is not None and address in san.get_values_for_type(x509.IPAddress)
    names = san.get_values_for_type(x509.DNSName) if san is not None else []
    if not names:
        names = [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    return any(_dns_match(name, host) for name in names)
