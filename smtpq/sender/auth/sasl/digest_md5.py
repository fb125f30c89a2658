"""DIGEST-MD5 (RFC 2831), authentication only (``qop=auth``), as GNU SASL does it for msmtp.

MD5 here is the protocol's keyed digest, not a cipher choice of ours.  The client
answers the digest-challenge (§2.1.1) with a digest-response (§2.1.2) for
``digest-uri="smtp/HOST"``, then checks the server's ``rspauth`` (§2.1.3) and
sends an empty line, after which the server replies ``235``.
"""

from __future__ import annotations

import hashlib
import re
import secrets

from smtpq.sender.auth.sasl.base import (
    AUTHENTICATION_ERROR,
    BASE64_ERROR,
    PARSE_ERROR,
    Credentials,
    Mechanism,
)
from smtpq.sender.errors import MechanismError

# RFC 2831 §7.1: #( token "=" ( token | quoted-string ) )
_PAIR = re.compile(r'\s*([A-Za-z0-9-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)\s*(?:,|$)')


def parse_directives(text: str) -> dict[str, list[str]]:
    """The directives of a challenge; every value as a list (``realm`` may repeat)."""
    directives: dict[str, list[str]] = {}
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _PAIR.match(text, pos)
        if not match or match.end() == pos:
            raise MechanismError(PARSE_ERROR)
        key, value = match.group(1).lower(), match.group(2)
        if value.startswith('"'):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        directives.setdefault(key, []).append(value)
        pos = match.end()
    return directives


def _encode(text: str, utf8: bool) -> bytes:
    """§2.1.2.1: with ``charset=utf-8``, ISO 8859-1 text is still hashed as ISO 8859-1."""
    if utf8:
        try:
            return text.encode("iso-8859-1")
        except UnicodeEncodeError:
            return text.encode("utf-8")
    return text.encode("iso-8859-1", "replace")


def _hex(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def response_value(
    *, user: bytes, realm: bytes, password: bytes, nonce: str, cnonce: str,
    nc: str, qop: str, digest_uri: str, initial: bool,
) -> str:
    """§2.1.2.1 ``response-value`` (``initial``) or §2.1.3 ``rspauth`` (not ``initial``)."""
    secret = hashlib.md5(user + b":" + realm + b":" + password).digest()
    a1 = secret + f":{nonce}:{cnonce}".encode()
    a2 = ("AUTHENTICATE:" if initial else ":") + digest_uri
    kd = f"{_hex(a1)}:{nonce}:{nc}:{cnonce}:{qop}:{_hex(a2.encode())}"
    return _hex(kd.encode())


class DigestMd5(Mechanism):
    name = "DIGEST-MD5"

    def __init__(self, credentials: Credentials) -> None:
        super().__init__(credentials)
        self._stage = 0
        self._expected_rspauth = ""

    def step(self, challenge: bytes) -> bytes:
        self._stage += 1
        if self._stage == 1:
            return self._respond(challenge)
        if self._stage == 2:
            self._check_rspauth(challenge)
            return b""
        return super().step(challenge)

    def finish(self) -> None:
        # A 235 before rspauth: as for SCRAM, msmtp fails on the 235 text's base64.
        if self._stage < 2:
            raise MechanismError(BASE64_ERROR)

    def _respond(self, challenge: bytes) -> bytes:
        try:
            directives = parse_directives(challenge.decode("utf-8"))
        except UnicodeDecodeError:
            raise MechanismError(PARSE_ERROR) from None
        nonce = directives.get("nonce", [""])[0]
        qops = {q.strip() for q in directives.get("qop", ["auth"])[0].split(",")}
        if not nonce or "auth" not in qops:
            raise MechanismError(PARSE_ERROR)
        utf8 = directives.get("charset", [""])[0].lower() == "utf-8"
        realm = self.credentials.ntlmdomain or directives.get("realm", [""])[0]
        cnonce = secrets.token_urlsafe(24)
        digest_uri = f"smtp/{self.credentials.host}"

        def digest(initial: bool) -> str:
            return response_value(
                user=_encode(self.user, utf8), realm=_encode(realm, utf8),
                password=_encode(self.password, utf8), nonce=nonce, cnonce=cnonce,
                nc="00000001", qop="auth", digest_uri=digest_uri, initial=initial)

        response = digest(initial=True)
        self._expected_rspauth = digest(initial=False)
        fields = [f'username="{_quote(self.user)}"']
        if realm:
            fields.append(f'realm="{_quote(realm)}"')
        fields += [f'nonce="{_quote(nonce)}"', f'cnonce="{cnonce}"', "nc=00000001", "qop=auth",
                   f'digest-uri="{_quote(digest_uri)}"', f"response={response}"]
        if utf8:
            fields.append("charset=utf-8")
        return ", ".join(fields).encode("utf-8")

    def _check_rspauth(self, challenge: bytes) -> None:
        try:
            rspauth = parse_directives(challenge.decode("utf-8")).get("rspauth", [""])[0]
        except (UnicodeDecodeError, MechanismError):
            raise MechanismError(PARSE_ERROR) from None
        if not secrets.compare_digest(rspauth, self._expected_rspauth):
            raise MechanismError(AUTHENTICATION_ERROR)


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')
