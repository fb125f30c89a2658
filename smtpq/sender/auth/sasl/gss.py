"""NTLM and GSSAPI (RFC 4752) through ``pyspnego``.

* NTLM: ``AUTH NTLM``; after the empty ``334`` the NEGOTIATE message, then the
  AUTHENTICATE message answering the server's CHALLENGE.  The ``ntlmdomain``
  setting becomes the NTLM domain (``DOMAIN\\user``).
* GSSAPI: the Kerberos token from the default credential cache (as GNU SASL, no
  principal is named); after the security context is complete the server's
  security-layer offer is unwrapped and answered with "no security layer"
  (RFC 4752 §3.1).  The first token is made *before* ``AUTH`` is sent, so a missing
  ticket or library fails before any byte goes out, with msmtp's GNU SASL text.
  Without the ``gssapi`` module (smtpq installed without its ``kerberos`` extra)
  GSSAPI is not supported at all: msmtp's text for a method it was built
  without (``support for authentication method GSSAPI is not compiled in``,
  EX_UNAVAILABLE) and how to install it; ``--version`` then leaves it out of
  the supported methods, as msmtp lists only what its build supports.
"""

from __future__ import annotations

import struct
from typing import Any

from smtpq.sender.auth.sasl.base import PARSE_ERROR, Credentials, Mechanism
from smtpq.sender.errors import MechanismError

#: GNU SASL's text for a failed ``gss_init_sec_context`` (observed with msmtp 1.8.23).
GSSAPI_CLIENT_ERROR = (
    "GSSAPI error in client while negotiating security context in gss_init_sec_context() "
    "in SASL library.  This is most likely due insufficient credentials or malicious "
    "interactions."
)
#: GNU SASL's text when the server insists on an integrity or privacy layer.
GSSAPI_LAYER_ERROR = (
    "Other entity requested integrity or confidentiality protection in GSSAPI mechanism "
    "but this is currently not implemented."
)
_NO_SECURITY_LAYER = 0x01
#: msmtp 1.8.23's text for a method it was built without (checked before the
#: server's offer), then how to get it (one line: it is also the log line's
#: ``errormsg`` and the queue history's).
GSSAPI_UNSUPPORTED = (
    "support for authentication method GSSAPI is not compiled in: install smtpq's "
    "kerberos extra, pip install 'smtpq[kerberos]' (building it needs the Debian "
    "package libkrb5-dev)"
)


def gssapi_available() -> bool:
    """Whether the ``gssapi`` module (the ``kerberos`` extra) can be imported here."""
    try:
        import gssapi  # noqa: F401 - only whether it imports
    except (ImportError, OSError):  # absent, blocked, or its libgssapi_krb5 missing
        return False
    return True


class Ntlm(Mechanism):
    name = "NTLM"

    def __init__(self, credentials: Credentials) -> None:
        super().__init__(credentials)
        import spnego  # deferred: only NTLM/GSSAPI users pay for it

        user = self.user
        if credentials.ntlmdomain and "\\" not in user:
            user = f"{credentials.ntlmdomain}\\{user}"
        self._context = spnego.client(
            user, self.password, hostname=credentials.host or "unspecified",
            service="smtp", protocol="ntlm",
        )
        self._steps = 0

    def first(self) -> bytes:
        return self._step(None)

    def step(self, challenge: bytes) -> bytes:
        self._steps += 1
        if self._steps > 1 or self._context.complete:
            return super().step(challenge)
        return self._step(challenge)

    def _step(self, token: bytes | None) -> bytes:
        import spnego.exceptions

        try:
            return self._context.step(token) or b""
        except (spnego.exceptions.SpnegoError, ValueError, struct.error):
            raise MechanismError(PARSE_ERROR) from None


class Gssapi(Mechanism):
    name = "GSSAPI"

    def __init__(self, credentials: Credentials) -> None:
        super().__init__(credentials)
        self._context: Any = None  # a pyspnego context once first() ran
        self._layer_done = False

    def first(self) -> bytes:
        try:
            import spnego

            self._context = spnego.client(
                hostname=self.credentials.host, service="smtp", protocol="kerberos",
            )
            return self._context.step(None) or b""
        except Exception:  # no gssapi module, no ticket, no KDC: all one error
            raise MechanismError(GSSAPI_CLIENT_ERROR) from None

    def step(self, challenge: bytes) -> bytes:
        assert self._context is not None
        if not self._context.complete:
            try:
                return self._context.step(challenge) or b""
            except Exception:
                raise MechanismError(GSSAPI_CLIENT_ERROR) from None
        if self._layer_done:
            return super().step(challenge)
        self._layer_done = True
        return self._answer_layer_offer(challenge)

    def _answer_layer_offer(self, challenge: bytes) -> bytes:
        """RFC 4752 §3.1: unwrap [layers, max size]; choose no layer, empty authzid."""
        assert self._context is not None
        try:
            offer = self._context.unwrap(challenge).data
        except Exception:
            raise MechanismError(PARSE_ERROR) from None
        if len(offer) != 4:
            raise MechanismError(PARSE_ERROR)
        if not offer[0] & _NO_SECURITY_LAYER:
            raise MechanismError(GSSAPI_LAYER_ERROR)
        reply = bytes([_NO_SECURITY_LAYER, 0, 0, 0])
        return self._context.wrap(reply, encrypt=False).data

    def finish(self) -> None:
        if not self._layer_done:
            raise MechanismError(PARSE_ERROR)
