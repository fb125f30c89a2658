"""SCRAM-SHA-1 and SCRAM-SHA-256 (RFC 5802, RFC 7677) through ``scramp``; no -PLUS in msmtp 1.8.23.

Wire order as msmtp (observed): ``AUTH SCRAM-SHA-256``; after the empty ``334`` the
client-first message; the client-final message; and after the server-final ``334``
an empty line, answered by ``235``.  The server signature is always verified
(RFC 5802 §5.1): a ``235`` without a verified server-final is not trusted.
Failure texts are GNU SASL's as msmtp prints them (observed): a server-first
message that is not SCRAM "could not parse input", a wrong server signature
"Error authenticating user".
"""

from __future__ import annotations

import scramp  # type: ignore[import-untyped]  # scramp ships no type information

from smtpq.sender.auth.sasl.base import (
    AUTHENTICATION_ERROR,
    BASE64_ERROR,
    PARSE_ERROR,
    Credentials,
    Mechanism,
)
from smtpq.sender.errors import MechanismError


class Scram(Mechanism):
    def __init__(self, credentials: Credentials, name: str) -> None:
        super().__init__(credentials)
        self.name = name
        self._client = scramp.ScramClient([name], self.user, self.password)
        self._stage = 0
        self._verified = False

    def first(self) -> bytes:
        return self._client.get_client_first().encode()

    def step(self, challenge: bytes) -> bytes:
        self._stage += 1
        if self._stage == 1:
            return self._client_final(challenge)
        if self._stage == 2:
            self._check_server_final(challenge)
            return b""
        return super().step(challenge)

    def finish(self) -> None:
        # A 235 before the server-final message: msmtp hands the 235 text to GNU SASL
        # as if it were the challenge and fails on its base64 (observed).
        if not self._verified:
            raise MechanismError(BASE64_ERROR)

    def _client_final(self, server_first: bytes) -> bytes:
        try:
            self._client.set_server_first(server_first.decode())
            return self._client.get_client_final().encode()
        except (scramp.ScramException, UnicodeDecodeError, ValueError):
            raise MechanismError(PARSE_ERROR) from None

    def _check_server_final(self, server_final: bytes) -> None:
        try:
            self._client.set_server_final(server_final.decode())
        except (scramp.ScramException, UnicodeDecodeError, ValueError):
            # (the library's message may quote exchanged data: drop it)
            raise MechanismError(AUTHENTICATION_ERROR) from None
        self._verified = True

