"""OAUTHBEARER (RFC 7628) and Google's XOAUTH2; the token is the account's password.

Observed msmtp 1.8.23 bytes:

* ``AUTH OAUTHBEARER <b64(…)>`` of
  ``n,a=USER,\\x01host=HOST\\x01port=PORT\\x01auth=Bearer TOKEN\\x01\\x01``
  (GS2 header RFC 7628 §3.1; ``host``/``port`` key-values §3.1).
* ``AUTH XOAUTH2``, then after ``334``: ``b64("user=USER\\x01auth=Bearer TOKEN\\x01\\x01")``.
  Any reply other than ``334`` to the AUTH line is ``command AUTH XOAUTH2 failed``.
* An error challenge (a ``334`` carrying JSON) is answered and the server then
  rejects: msmtp answers with an empty line for both.  For OAUTHBEARER we send the
  ``%x01`` that RFC 7628 §3.2.3 requires; the outcome (the server's 5xx) is the same.
"""

from __future__ import annotations

from smtpq.sender.auth.sasl.base import Credentials, Mechanism, to_bytes


def _gs2_name(user: str) -> str:
    """RFC 5801 §4 saslname: ``,`` and ``=`` escaped as ``=2C`` and ``=3D``."""
    return user.replace("=", "=3D").replace(",", "=2C")


class OAuthBearer(Mechanism):
    name = "OAUTHBEARER"
    initial_response = True

    def __init__(self, credentials: Credentials) -> None:
        super().__init__(credentials)
        self._error_answered = False

    def first(self) -> bytes:
        fields = [f"host={self.credentials.host}"]
        if self.credentials.port:
            fields.append(f"port={self.credentials.port}")
        fields.append(f"auth=Bearer {self.password}")
        kvpairs = "".join(f"{field}\x01" for field in fields)
        return to_bytes(f"n,a={_gs2_name(self.user)},\x01{kvpairs}\x01")

    def step(self, challenge: bytes) -> bytes:
        # RFC 7628 §3.2.3: an error challenge is answered with a lone %x01.
        if self._error_answered:
            return super().step(challenge)
        self._error_answered = True
        return b"\x01"


class XOAuth2(Mechanism):
    name = "XOAUTH2"
    auth_line_needs_334 = True

    def __init__(self, credentials: Credentials) -> None:
        super().__init__(credentials)
        self._error_answered = False

    def first(self) -> bytes:
        return to_bytes(f"user={self.user}\x01auth=Bearer {self.password}\x01\x01")

    def step(self, challenge: bytes) -> bytes:
        # Google: after an error challenge the client sends an empty response.
        if self._error_answered:
            return super().step(challenge)
        self._error_answered = True
        return b""
