"""Server sides of the SASL mechanisms, written from the RFCs, for aiosmtpd.

:class:`SaslHandler` extends :class:`~tests.support.aiosmtpd_server.RecordingHandler`
with ``auth_<MECH>`` methods (aiosmtpd's hook for extra mechanisms; PLAIN and
LOGIN replace aiosmtpd's built-ins so that a wrong password gets a ``535``).  Use it as::

    users = {"bob": "s3cret"}
    server = smtp_server(handler=SaslHandler(users), credentials=users,
                         auth_require_tls=False)

``credentials`` is what makes aiosmtpd announce AUTH and check PLAIN/LOGIN;
``auth_exclude_mechanism=[...]`` hides mechanisms from the announcement.
Each attempt is appended to ``handler.attempts`` as ``(mechanism, user, ok)``;
OAUTH key-value pairs the client sent land in ``handler.oauth_fields``.

These are test servers: a failure is always answered ``535`` (what Postfix and
Dovecot do), and nothing is meant for production use.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from typing import Any

import scramp
from aiosmtpd.smtp import MISSING, SMTP, AuthResult, auth_mechanism

from smtpq.sender.auth.sasl.digest_md5 import parse_directives, response_value
from tests.support.aiosmtpd_server import RecordingHandler

REALM = "test.example"
_OAUTH_ERROR = json.dumps({"status": "invalid_token", "schemes": "bearer"}).encode()


def _fail() -> AuthResult:
    """Let aiosmtpd answer ``535 5.7.8 Authentication credentials invalid``."""
    return AuthResult(success=False, handled=False)


def _aborted() -> AuthResult:
    """``challenge_auth`` already answered (``*`` or bad base64)."""
    return AuthResult(success=False, handled=True)


class SaslHandler(RecordingHandler):
    """Accepts ``users`` (name → password) and ``tokens`` (name → bearer token).

    ``external_identities`` lists the authorization identities EXTERNAL accepts
    ("" = the identity of the TLS client certificate); ``scram_forge_signature``
    makes SCRAM send a wrong server signature.  NTLM uses pyspnego's acceptor
    (``NTLM_USER_FILE`` must name a ``DOMAIN:USER:PASSWORD`` file); GSSAPI uses its
    Kerberos acceptor (needs ``gssapi``/``krb5`` and a keytab with ``smtp/HOST`` in
    ``KRB5_KTNAME``, e.g. from ``k5test``).
    """

    def __init__(self, users: dict[str, str] | None = None, *,
                 tokens: dict[str, str] | None = None,
                 external_identities: tuple[str, ...] = ("",),
                 scram_forge_signature: bool = False, echo_payload: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.users = users or {}
        self.tokens = tokens or {}
        self.external_identities = external_identities
        self.scram_forge_signature = scram_forge_signature
        #: A careless server: its PLAIN ``535`` repeats the payload in base64,
        #: decoded, and as ``user:password`` (the leak of issue 14 point 4).
        self.echo_payload = echo_payload
        self.attempts: list[tuple[str, str | None, bool]] = []
        self.oauth_fields: list[dict[str, str]] = []

    def _result(self, mechanism: str, user: str | None, ok: bool) -> AuthResult:
        self.attempts.append((mechanism, user, ok))
        return AuthResult(success=True, auth_data=user) if ok else _fail()

    # -- RFC 4616 and LOGIN (replacing aiosmtpd's, so failures get a 535) -----
    @auth_mechanism("PLAIN")
    async def auth_PLAIN(self, server: SMTP, args: list[str]) -> AuthResult:  # noqa: N802
        message = await self._initial(server, args)
        if message is MISSING:
            return _aborted()
        parts = message.split(b"\0")
        if len(parts) != 3:
            return self._result("PLAIN", None, False)
        user, password = parts[1].decode("utf-8", "replace"), parts[2].decode("utf-8", "replace")
        ok = self._password_ok(user, password)
        if not ok and self.echo_payload:
            return await self._echo(server, base64.b64encode(message).decode(), user, password)
        return self._result("PLAIN", user, ok)

    async def _echo(self, server: SMTP, payload: str, user: str, password: str) -> AuthResult:
        self.attempts.append(("PLAIN", user, False))
        await server.push(f"535-5.7.8 bad credentials {payload}\r\n"
                          f"535 5.7.8 for {user}:{password} ({password})")
        return _aborted()

    @auth_mechanism("LOGIN")
    async def auth_LOGIN(self, server: SMTP, args: list[str]) -> AuthResult:  # noqa: N802
        user = await server.challenge_auth("Username:")
        if user is MISSING:
            return _aborted()
        password = await server.challenge_auth("Password:")
        if password is MISSING:
            return _aborted()
        name = user.decode("utf-8", "replace")
        ok = self._password_ok(name, password.decode("utf-8", "replace"))
        return self._result("LOGIN", name, ok)

    def _password_ok(self, user: str, password: str) -> bool:
        expected = self.users.get(user)
        return expected is not None and hmac.compare_digest(expected.encode(), password.encode())

    @staticmethod
    async def _initial(server: SMTP, args: list[str]) -> Any:
        """The initial response from the AUTH line (RFC 4954 §4), or the answer to ``334``."""
        if len(args) > 1:
            return b"" if args[1] == "=" else base64.b64decode(args[1])
        return await server.challenge_auth("")

    # -- RFC 2195 ----------------------------------------------------------
    @auth_mechanism("CRAM-MD5")
    async def auth_CRAM_MD5(self, server: SMTP, args: list[str]) -> AuthResult:  # noqa: N802
        challenge = f"<{secrets.randbelow(10**9)}.{os.getpid()}@{REALM}>".encode()
        answer = await server.challenge_auth(challenge)
        if answer is MISSING:
            return _aborted()
        user, _, digest = answer.decode("utf-8", "replace").rpartition(" ")
        password = self.users.get(user)
        expected = (hmac.new(password.encode(), challenge, hashlib.md5).hexdigest()
                    if password is not None else "")
        return self._result("CRAM-MD5", user, bool(expected) and hmac.compare_digest(
            expected, digest))

    # -- RFC 5802 / RFC 7677 -------------------------------------------------
    @auth_mechanism("SCRAM-SHA-1")
    async def auth_SCRAM_SHA_1(self, server: SMTP, args: list[str]) -> AuthResult:  # noqa: N802
        return await self._scram(server, args, "SCRAM-SHA-1")

    @auth_mechanism("SCRAM-SHA-256")
    async def auth_SCRAM_SHA_256(self, server: SMTP, args: list[str]) -> AuthResult:  # noqa: N802
        return await self._scram(server, args, "SCRAM-SHA-256")

    async def _scram(self, server: SMTP, args: list[str], name: str) -> AuthResult:
        mechanism = scramp.ScramMechanism(name)
        seen: dict[str, str] = {}

        def auth_info(user: str) -> tuple[bytes, bytes, bytes, int]:
            seen["user"] = user
            if user not in self.users:
                raise scramp.ScramException("unknown user")
            return mechanism.make_auth_info(self.users[user], iteration_count=4096)

        scram = mechanism.make_server(auth_info)
        client_first = await self._initial(server, args)
        if client_first is MISSING:
            return _aborted()
        try:
            scram.set_client_first(client_first.decode())
            client_final = await server.challenge_auth(scram.get_server_first())
            if client_final is MISSING:
                return _aborted()
            scram.set_client_final(client_final.decode())
        except scramp.ScramException:
            return self._result(name, seen.get("user"), False)
        server_final = scram.get_server_final()
        if self.scram_forge_signature:
            server_final = "v=" + base64.b64encode(b"\0" * 32).decode()
        empty = await server.challenge_auth(server_final)
        if empty is MISSING:
            return _aborted()
        return self._result(name, seen.get("user"), empty == b"")

    # -- RFC 7628 and Google's XOAUTH2 ----------------------------------------
    @auth_mechanism("OAUTHBEARER")
    async def auth_OAUTHBEARER(self, server: SMTP, args: list[str]) -> AuthResult:  # noqa: N802
        message = await self._initial(server, args)
        if message is MISSING:
            return _aborted()
        header, _, rest = message.decode("utf-8", "replace").partition("\x01")
        # gs2-header: "n,a=USER," (RFC 7628 §3.1, RFC 5801 §4)
        authzid = header.split(",")[1] if header.count(",") >= 2 else ""
        user = authzid[2:].replace("=2C", ",").replace("=3D", "=") if authzid else None
        fields = dict(kv.split("=", 1) for kv in rest.split("\x01") if "=" in kv)
        return await self._bearer(server, "OAUTHBEARER", user, fields, b"\x01")

    @auth_mechanism("XOAUTH2")
    async def auth_XOAUTH2(self, server: SMTP, args: list[str]) -> AuthResult:  # noqa: N802
        message = await self._initial(server, args)
        if message is MISSING:
            return _aborted()
        fields = dict(kv.split("=", 1) for kv in message.decode("utf-8", "replace").split("\x01")
                      if "=" in kv)
        return await self._bearer(server, "XOAUTH2", fields.get("user"), fields, b"")

    async def _bearer(self, server: SMTP, name: str, user: str | None, fields: dict[str, str],
                      error_answer: bytes) -> AuthResult:
        self.oauth_fields.append(fields)
        token = fields.get("auth", "").removeprefix("Bearer ")
        expected = self.tokens.get(user or "")
        if expected is not None and hmac.compare_digest(expected, token):
            return self._result(name, user, True)
        # RFC 7628 §3.2.2: an error challenge, answered by the client, then failure.
        answer = await server.challenge_auth(_OAUTH_ERROR)
        if answer is MISSING:
            return _aborted()
        self.attempts.append((name, user, False))
        return AuthResult(success=False, handled=False,
                          message="535 5.7.8 invalid token" if answer == error_answer
                          else "535 5.7.8 bad answer to the error challenge")

    # -- RFC 2831 -------------------------------------------------------------
    @auth_mechanism("DIGEST-MD5")
    async def auth_DIGEST_MD5(self, server: SMTP, args: list[str]) -> AuthResult:  # noqa: N802
        nonce = secrets.token_urlsafe(16)
        challenge = (f'realm="{REALM}",nonce="{nonce}",qop="auth",charset=utf-8,'
                     f"algorithm=md5-sess")
        answer = await server.challenge_auth(challenge)
        if answer is MISSING:
            return _aborted()
        fields = {k: v[0] for k, v in parse_directives(answer.decode()).items()}
        user = fields.get("username")
        password = self.users.get(user or "")
        if password is None or fields.get("nonce") != nonce or fields.get("nc") != "00000001":
            return self._result("DIGEST-MD5", user, False)
        values = dict(user=user.encode(), realm=fields.get("realm", "").encode(),
                      password=password.encode(), nonce=nonce, cnonce=fields.get("cnonce", ""),
                      nc="00000001", qop=fields.get("qop", "auth"),
                      digest_uri=fields.get("digest-uri", ""))
        if not hmac.compare_digest(response_value(**values, initial=True),
                                   fields.get("response", "")):
            return self._result("DIGEST-MD5", user, False)
        empty = await server.challenge_auth(f"rspauth={response_value(**values, initial=False)}")
        if empty is MISSING:
            return _aborted()
        self.digest_uri = fields.get("digest-uri")
        return self._result("DIGEST-MD5", user, empty == b"")

    # -- RFC 4422 Appendix A --------------------------------------------------
    @auth_mechanism("EXTERNAL")
    async def auth_EXTERNAL(self, server: SMTP, args: list[str]) -> AuthResult:  # noqa: N802
        authzid = await self._initial(server, args)
        if authzid is MISSING:
            return _aborted()
        has_cert = bool(server.transport.get_extra_info("peercert"))
        identity = authzid.decode("utf-8", "replace")
        return self._result("EXTERNAL", identity, has_cert and identity in self.external_identities)

    # -- RFC 4752 through pyspnego's Kerberos acceptor (needs gssapi + a keytab) -
    @auth_mechanism("GSSAPI")
    async def auth_GSSAPI(self, server: SMTP, args: list[str]) -> AuthResult:  # noqa: N802
        import spnego

        acceptor = spnego.server(protocol="kerberos", service="smtp")
        token = await self._initial(server, args)
        try:
            while token is not MISSING and not acceptor.complete:
                answer = acceptor.step(token)
                token = await server.challenge_auth(answer or b"")
            if token is MISSING:
                return _aborted()
            # §3.1: offer "no security layer" only, max size 0; wrapped without encryption.
            offer = acceptor.wrap(bytes([0x01, 0, 0, 0]), encrypt=False).data
            reply = await server.challenge_auth(offer)
            if reply is MISSING:
                return _aborted()
            choice = acceptor.unwrap(reply).data
        except Exception:  # noqa: BLE001 - any GSS failure is a rejection
            return self._result("GSSAPI", None, False)
        self.gssapi_authzid = choice[4:].decode()
        return self._result("GSSAPI", acceptor.client_principal, choice[:1] == b"\x01")

    # -- NTLM through pyspnego's acceptor -------------------------------------
    @auth_mechanism("NTLM")
    async def auth_NTLM(self, server: SMTP, args: list[str]) -> AuthResult:  # noqa: N802
        import spnego

        acceptor = spnego.server(protocol="ntlm")
        negotiate = await server.challenge_auth("")
        if negotiate is MISSING:
            return _aborted()
        try:
            challenge = acceptor.step(negotiate)
            authenticate = await server.challenge_auth(challenge or b"")
            if authenticate is MISSING:
                return _aborted()
            acceptor.step(authenticate)
        except Exception:  # noqa: BLE001 - a wrong password surfaces as a SpnegoError
            return self._result("NTLM", None, False)
        return self._result("NTLM", acceptor.client_principal, acceptor.complete)
