"""``tls_priorities`` and ``tls_min_dh_prime_bits`` mapped onto Python's ``ssl``.

msmtp hands ``tls_priorities`` to GnuTLS (or, for a libtls build, parses
``PROTOCOLS=… CIPHERS=… ECDHECURVES=…``).  Python's ``ssl`` (OpenSSL) has no
priority strings, so this module translates what it can:

==========================  ==================================================
GnuTLS / libtls             ``ssl.SSLContext``
==========================  ==================================================
``NORMAL``, ``PERFORMANCE``, library defaults (OpenSSL's ``DEFAULT`` ciphers)
``SYSTEM``, ``@KEYWORD``
``SECURE128``, ``PFS``      forward-secret AEAD ciphers (``ECDHE+AESGCM`` …)
``SECURE192``/``SECURE256`` 256-bit AEAD ciphers only
``SUITEB128``/``SUITEB192`` ECDSA AES-GCM suite, TLS 1.2 or later
``LEGACY``                  OpenSSL security level 1
``NONE``                    start from no protocol versions
``±VERS-TLS1.x``, ``VERS-   minimum_version / maximum_version (the enabled
ALL``, ``VERS-TLS-ALL``     versions must be contiguous; gaps are closed)
``PROTOCOLS=tlsv1.2,…``     minimum_version / maximum_version
``CIPHERS=…``               ``set_ciphers`` (TLS 1.2 and older only)
``ECDHECURVES=P-384,…``     ``set_ecdh_curve`` with the first curve
``tls_min_dh_prime_bits``   OpenSSL security level: <1024 → 0, <2048 → 1,
                            >=3072 → 3 (the level also sets other minimums)
==========================  ==================================================

Not mappable, accepted and ignored: GnuTLS cipher/MAC/key-exchange/group/
signature modifiers (``+AES-128-CBC``, ``-RSA``, ``+GROUP-X25519``, ``+SIGN-…``,
``+COMP-…``, ``+CTYPE-…``), ``%FLAGS`` (``%COMPAT``, ``%NO_TICKETS``…), TLS 1.3
cipher suite choice (OpenSSL's TLS 1.3 suites are not settable from Python)
and SSL 3.0 (not supported by OpenSSL 3).  As msmtp with GnuTLS, a string whose
first keyword is not a priority keyword, or whose later elements do not start
with ``+ - ! %``, is rejected (``cannot set priorities for TLS session: error
in priority string at position N``, EX_SOFTWARE); anything GnuTLS would accept
is accepted.
"""

from __future__ import annotations

import ssl

from smtpq.sender.errors import TlsError
from smtpq.sender.record import Record
from smtpq.sender.sysexits import ExitCode

_VERSIONS = {
    "TLS1.0": ssl.TLSVersion.TLSv1,
    "TLS1.1": ssl.TLSVersion.TLSv1_1,
    "TLS1.2": ssl.TLSVersion.TLSv1_2,
    "TLS1.3": ssl.TLSVersion.TLSv1_3,
}
_ORDER = list(_VERSIONS.values())
_DEFAULT_VERSIONS = frozenset({ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3})
_LIBTLS_VERSIONS = {"TLSV1": "TLS1.0", "TLSV1.0": "TLS1.0", "TLSV1.1": "TLS1.1",
                    "TLSV1.2": "TLS1.2", "TLSV1.3": "TLS1.3"}

_AEAD_PFS = "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20:!aNULL"
_AEAD_256 = "ECDHE+AES256+AESGCM:ECDHE+CHACHA20:DHE+AES256+AESGCM:!aNULL"
_BASE_CIPHERS: dict[str, str | None] = {
    "NORMAL": None, "PERFORMANCE": None, "SYSTEM": None, "NONE": None,
    "SECURE": _AEAD_PFS, "SECURE128": _AEAD_PFS, "PFS": "ECDHE:DHE:!aNULL:!eNULL",
    "SECURE192": _AEAD_256, "SECURE256": _AEAD_256,
    "SUITEB128": "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384",
    "SUITEB192": "ECDHE-ECDSA-AES256-GCM-SHA384",
    "LEGACY": "DEFAULT",
}
_LIBTLS_KEYS = ("PROTOCOLS", "CIPHERS", "ECDHECURVES")
_CURVES = {"P-256": "prime256v1", "P-384": "secp384r1", "P-521": "secp521r1",
           "X25519": "X25519", "X448": "X448"}


class TlsTuning(Record):
    """What a priority string and ``tls_min_dh_prime_bits`` ask of the context.

    A record, not a dataclass (import cost: smtpq.sender.record).
    """

    __slots__ = ("ciphers", "curve", "security_level", "versions")
    FIELDS = ("versions", "ciphers", "security_level", "curve")

    versions: frozenset[ssl.TLSVersion] | None  # None: library default
    ciphers: str | None
    security_level: int | None
    curve: str | None

    def __init__(self, versions: frozenset[ssl.TLSVersion] | None = None,
                 ciphers: str | None = None, security_level: int | None = None,
                 curve: str | None = None) -> None:
        self.versions = versions
        self.ciphers = ciphers
        self.security_level = security_level
        self.curve = curve

    def apply(self, context: ssl.SSLContext) -> None:
        level = self.security_level
        if self.versions is not None:
            _apply_versions(context, self.versions)
            if min(self.versions, default=ssl.TLSVersion.TLSv1_2) < ssl.TLSVersion.TLSv1_2:
                level = 0  # OpenSSL 3 refuses TLS < 1.2 above security level 0
        ciphers = self.ciphers
        if level is not None:
            ciphers = f"{ciphers or 'DEFAULT'}:@SECLEVEL={level}"
        try:
            if ciphers:
                context.set_ciphers(ciphers)
            if self.curve:
                context.set_ecdh_curve(self.curve)
        except (ssl.SSLError, ValueError) as exc:
            raise TlsError(f"cannot set priorities for TLS session: {exc}",
                           exit_code=ExitCode.EX_SOFTWARE) from exc


def _apply_versions(context: ssl.SSLContext, enabled: frozenset[ssl.TLSVersion]) -> None:
    if not enabled:
        # Nothing enabled: the handshake must fail, as it does with GnuTLS.
        context.minimum_version = ssl.TLSVersion.TLSv1_3
        context.maximum_version = ssl.TLSVersion.TLSv1_2
        return
    context.minimum_version = min(enabled)
    context.maximum_version = max(enabled)


def _reject(position: int) -> TlsError:
    return TlsError("cannot set priorities for TLS session: "
                    f"error in priority string at position {position}",
                    exit_code=ExitCode.EX_SOFTWARE)


def _version_modifier(name: str, enabled: set[ssl.TLSVersion], add: bool) -> None:
    if name in ("ALL", "TLS-ALL"):
        targets = _ORDER
    else:
        targets = [_VERSIONS[name]] if name in _VERSIONS else []
    for version in targets:
        (enabled.add if add else enabled.discard)(version)


def parse_gnutls(priorities: str) -> TlsTuning:
    """Translate a GnuTLS priority string (``NORMAL:-VERS-TLS1.0``)."""
    elements = priorities.split(":")
    base = elements[0].upper()
    if not (base in _BASE_CIPHERS or base.startswith("@")):
        raise _reject(1)
    enabled = set() if base == "NONE" else set(_DEFAULT_VERSIONS)
    tuning = TlsTuning(ciphers=_BASE_CIPHERS.get(base))
    if base == "LEGACY":
        tuning.security_level = 1
    position = len(elements[0]) + 2
    for element in elements[1:]:
        if not element or element[0] not in "+-!%":
            raise _reject(position)
        upper = element.upper()
        if upper[1:].startswith("VERS-"):
            _version_modifier(upper[6:], enabled, add=upper[0] == "+")
        position += len(element) + 1
    tuning.versions = frozenset(enabled)
    return tuning


def parse_libtls(priorities: str) -> TlsTuning:
    """Translate a libtls string (``PROTOCOLS=tlsv1.3 CIPHERS=… ECDHECURVES=P-384``)."""
    tuning = TlsTuning()
    for part in priorities.split():
        key, _, value = part.partition("=")
        key = key.upper()
        if key == "PROTOCOLS":
            names = {n.strip().upper() for n in value.replace(":", ",").split(",")}
            enabled = {_VERSIONS[_LIBTLS_VERSIONS[n]] for n in names if n in _LIBTLS_VERSIONS}
            if names & {"ALL", "LEGACY"}:
                enabled |= set(_ORDER)
            if names & {"SECURE", "DEFAULT"}:
                enabled |= _DEFAULT_VERSIONS
            tuning.versions = frozenset(enabled or _DEFAULT_VERSIONS)
        elif key == "CIPHERS" and value.lower() not in ("default", "secure", "compat", "all"):
            tuning.ciphers = value
        elif key == "ECDHECURVES":
            tuning.curve = _CURVES.get(value.split(",")[0].strip().upper())
    return tuning


def parse_priorities(priorities: str | None, min_dh_prime_bits: int | None = None) -> TlsTuning:
    """The tuning for an account: libtls ``KEY=value`` words, else a GnuTLS string."""
    tuning = TlsTuning()
    if priorities:
        first = priorities.split()[0] if priorities.split() else ""
        libtls = first.split("=")[0].upper() in _LIBTLS_KEYS and "=" in first
        tuning = parse_libtls(priorities) if libtls else parse_gnutls(priorities)
    if min_dh_prime_bits is not None:
        # GnuTLS's minimum DH prime size, approximated by OpenSSL's security level.
        bits = min_dh_prime_bits
        level = 0 if bits < 1024 else 1 if bits < 2048 else 3 if bits >= 3072 else None
        if level is not None:
            tuning.security_level = level
    return tuning
