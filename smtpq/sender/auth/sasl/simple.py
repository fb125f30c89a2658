"""PLAIN (RFC 4616), LOGIN (draft-murchison-sasl-login), CRAM-MD5 (RFC 2195), EXTERNAL.

EXTERNAL is RFC 4422 Appendix A.

Wire behaviour as msmtp 1.8.23 (observed): PLAIN sends ``\\0user\\0password`` on the
AUTH line; LOGIN answers the two prompts without reading them; CRAM-MD5 answers the
challenge with ``user hexdigest``; EXTERNAL sends ``AUTH EXTERNAL`` and then the
authorization identity (the ``user`` setting, or empty) after the server's ``334``.
"""

from __future__ import annotations

from smtpq.sender.auth.sasl.base import PARSE_ERROR, Credentials, Mechanism, to_bytes
from smtpq.sender.errors import MechanismError


class Plain(Mechanism):
    """RFC 4616 §2: ``[authzid] NUL authcid NUL passwd``, authzid left empty as msmtp does."""

    name = "PLAIN"
    initial_response = True

    def first(self) -> bytes:
        return b"\0" + to_bytes(self.user) + b"\0" + to_bytes(self.password)


class Login(Mechanism):
    """The user name, then the password, each answering one server prompt."""

    name = "LOGIN"
    reads_challenges = False

    def __init__(self, credentials: Credentials) -> None:
        super().__init__(credentials)
        self._answers = [to_bytes(self.user), to_bytes(self.password)]

    def step(self, challenge: bytes) -> bytes:
        # The prompt text ("Username:"/"Password:") carries no information.
        if not self._answers:
            return super().step(challenge)
        return self._answers.pop(0)


class CramMd5(Mechanism):
    """RFC 2195 §2: ``user SP hex(HMAC-MD5(password, challenge))``."""

    name = "CRAM-MD5"

    def __init__(self, credentials: Credentials) -> None:
        super().__init__(credentials)
        self._answered = False

    def step(self, challenge: bytes) -> bytes:
        if self._answered:
            return super().step(challenge)
        if not challenge:
            raise MechanismError(PARSE_ERROR)
        self._answered = True
        import hashlib  # only CRAM-MD5 needs them (≈ 0.8 ms and libcrypto's digests)
        import hmac

        digest = hmac.new(to_bytes(self.password), challenge, hashlib.md5).hexdigest()
        return to_bytes(self.user) + b" " + digest.encode()


class External(Mechanism):
    """RFC 4422 Appendix A: the (possibly empty) authorization identity only.

    msmtp 1.8.23 sends nothing at all after the ``334`` when no user is set, which
    leaves the server waiting for an answer; we send the empty response the RFC asks for.
    """

    name = "EXTERNAL"

    def first(self) -> bytes:
        return to_bytes(self.user)
