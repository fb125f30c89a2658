"""``ssl.SSLContext`` for an account, checked the way msmtp (GnuTLS build) checks.

Three verification modes, as ``mtls_init``/``mtls_check_cert`` choose them:

* ``tls_certcheck off``: no checks at all.
* ``tls_fingerprint`` set: only the server certificate's SHA256/SHA1/MD5
  fingerprint counts (compared after the handshake); trust file and host name
  are ignored.
* otherwise ``tls_trust_file`` (``system`` = the system store, or a PEM file):
  chain and host name verified by OpenSSL during the handshake
  (``tls_host_override`` replaces ``host`` for the name check and SNI), with an
  optional CRL (``tls_crl_file``, leaf only).

File problems are EX_NOINPUT with GnuTLS's wording.
"""

from __future__ import annotations

import enum
import ssl

from smtpq.sender.errors import ConfigError, TlsError
from smtpq.sender.protocol.dial import ascii_host
from smtpq.sender.record import Record
from smtpq.sender.sysexits import ExitCode
from smtpq.sender.tls.priorities import parse_priorities

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (import cost)
if TYPE_CHECKING:
    from smtpq.sender.config.settings import Account

READ_ERROR = "Error while reading file."


class Check(enum.Enum):
    NONE = "none"
    FINGERPRINT = "fingerprint"
    TRUST = "trust"


class TlsPolicy(Record):
    """A context plus what to check after the handshake.

    A record, not a dataclass (import cost: smtpq.sender.record).
    """

    __slots__ = ("check", "context", "fingerprint", "hostname")
    FIELDS = ("context", "hostname", "check", "fingerprint")

    context: ssl.SSLContext
    hostname: str | None  # name for SNI and verification (IDNA-encoded)
    check: Check
    fingerprint: bytes | None

    def __init__(self, context: ssl.SSLContext, hostname: str | None, check: Check,
                 fingerprint: bytes | None = None) -> None:
        self.context = context
        self.hostname = hostname
        self.check = check
        self.fingerprint = fingerprint


def _file_error(what: str, exc: Exception, parse_text: str) -> TlsError:
    unreadable = isinstance(exc, OSError) and not isinstance(exc, ssl.SSLError)
    text = READ_ERROR if unreadable else parse_text
    return TlsError(f"{what} for TLS session: {text}", exit_code=ExitCode.EX_NOINPUT)


def _load_trust(context: ssl.SSLContext, trust_file: str) -> None:
    if trust_file == "system":
        context.load_default_certs(ssl.Purpose.SERVER_AUTH)
        return
    try:
        context.load_verify_locations(cafile=trust_file)
    except (OSError, ValueError) as exc:
        # GnuTLS reports "Success." for a readable file without certificates.
        raise _file_error(f"cannot set X509 trust file {trust_file}", exc, "Success.") from exc


def _load_crl(context: ssl.SSLContext, crl_file: str) -> None:
    try:
        context.load_verify_locations(cafile=crl_file)
    except (OSError, ValueError) as exc:
        raise _file_error(f"cannot set X509 CRL file {crl_file}", exc,
                          "Base64 decoding error.") from exc
    context.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF


def _load_client_cert(context: ssl.SSLContext, cert_file: str, key_file: str) -> None:
    try:
        context.load_cert_chain(cert_file, key_file)
    except (OSError, ValueError) as exc:
        raise _file_error(f"cannot set X509 key file {key_file} and/or X509 cert file {cert_file}",
                          exc, "The requested data were not available.") from exc


def _choose_check(account: Account) -> Check:
    if not account.tls_certcheck:
        return Check.NONE
    if account.tls_fingerprint:
        return Check.FINGERPRINT
    if account.tls_trust_file:
        return Check.TRUST
    raise ConfigError("tls requires either tls_trust_file (highly recommended) "
                      "or tls_fingerprint or a disabled tls_certcheck")


def build_policy(account: Account) -> TlsPolicy:
    """The TLS context and checks for *account* (raises TlsError/ConfigError)."""
    check = _choose_check(account)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    parse_priorities(account.tls_priorities, account.tls_min_dh_prime_bits).apply(context)
    if account.tls_key_file and account.tls_cert_file:
        _load_client_cert(context, account.tls_cert_file, account.tls_key_file)
    if check is Check.TRUST:
        _load_trust(context, account.tls_trust_file or "system")
        if account.tls_crl_file:
            _load_crl(context, account.tls_crl_file)
        context.verify_mode = ssl.CERT_REQUIRED
    name = account.tls_host_override or account.host
    hostname = ascii_host(name) if name else None
    if check is Check.TRUST and hostname:
        context.check_hostname = True  # RFC 6125 name check by OpenSSL
    return TlsPolicy(context, hostname, check,
                     account.tls_fingerprint if check is Check.FINGERPRINT else None)
