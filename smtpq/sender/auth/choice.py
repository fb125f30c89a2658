"""Which SASL method to use, decided exactly as msmtp 1.8.23 (GNU SASL build) decides.

Observed with the real binary:

* ``auth on`` with TLS active takes the first announced of PLAIN, SCRAM-SHA-256,
  SCRAM-SHA-1, CRAM-MD5, DIGEST-MD5, LOGIN, NTLM; with nothing usable it fails with
  ``cannot find a usable authentication method``.
* ``auth on`` without TLS considers only SCRAM-SHA-256 and SCRAM-SHA-1 (the only
  ones that neither reveal nor allow replaying the password); otherwise
  ``cannot use a secure authentication method``.
* OAUTHBEARER, XOAUTH2, EXTERNAL and GSSAPI are never chosen automatically.
* An explicit method must be announced, else ``the server does not support
  authentication method X``; it is then used even without TLS (the user forced it).
* msmtp matches the announcement as a *substring* of the upper-cased ``AUTH`` line
  (``strstr``), so ``SCRAM-SHA-1-PLUS`` also counts as ``SCRAM-SHA-1``.
All these failures exit with EX_UNAVAILABLE (69).

``cannot use a secure authentication method`` is the error msmtp users ask
about most (reference §7.7); :data:`SECURE_METHOD_HINT` says what to change
(shown after msmtp's lines by ``smtpq.sender.tls.hints``).
"""

from __future__ import annotations

from smtpq.sender.config.settings import AUTH_CHOOSE
from smtpq.sender.errors import DeliveryError
from smtpq.sender.sysexits import ExitCode

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (import cost)
if TYPE_CHECKING:
    from collections.abc import Iterable

#: ``auth on`` preference with TLS active, best first.
TLS_ORDER = (
    "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-1", "CRAM-MD5", "DIGEST-MD5", "LOGIN", "NTLM",
)
#: ``auth on`` preference without TLS: only methods that keep the password secret.
PLAINTEXT_ORDER = ("SCRAM-SHA-256", "SCRAM-SHA-1")

#: msmtp's text when, without TLS, the server offers no method that keeps the password secret.
NO_SECURE_METHOD = "cannot use a secure authentication method"
#: What to change then: turn TLS on, or name a method to send the password anyway.
SECURE_METHOD_HINT = (
    "TLS is off and the server offers only methods that would send the password readable: "
    "set 'tls on' (with 'tls_starttls on' for port 587 or 25, 'tls_starttls off' for 465), "
    "or name the method, e.g. 'auth plain', to send it unencrypted anyway")


def announces(auth_methods: Iterable[str], method: str) -> bool:
    """Whether the server's AUTH announcement contains *method* (msmtp's substring test)."""
    line = " ".join(m.upper() for m in auth_methods)
    return method.upper() in line


def choose_method(auth: str, auth_methods: Iterable[str], tls_active: bool) -> str:
    """The method to run for the account setting *auth* (:data:`AUTH_CHOOSE` or a name).

    Raises :class:`DeliveryError` (EX_UNAVAILABLE) with msmtp's text when the server
    announces no AUTH at all, not the explicit method, or nothing acceptable.
    """
    methods = frozenset(auth_methods)
    if not methods:
        raise _unavailable("the server does not support authentication")
    if auth != AUTH_CHOOSE:
        method = auth.upper()
        if not announces(methods, method):
            raise _unavailable(f"the server does not support authentication method {method}")
        return method
    for method in TLS_ORDER if tls_active else PLAINTEXT_ORDER:
        if announces(methods, method):
            return method
    if tls_active:
        raise _unavailable("cannot find a usable authentication method")
    raise _unavailable(NO_SECURE_METHOD)


def _unavailable(message: str) -> DeliveryError:
    return DeliveryError(message, exit_code=ExitCode.EX_UNAVAILABLE)
