"""SASL client mechanisms (RFC 4422), one class per method msmtp 1.8.23 supports."""

from __future__ import annotations

from smtpq.sender.auth.sasl.base import Credentials, Mechanism

#: Methods that need no password (msmtp never asks for one for these).
PASSWORDLESS = frozenset({"EXTERNAL", "GSSAPI"})
#: Methods that need no user name.
USERLESS = frozenset({"EXTERNAL"})


def create_mechanism(method: str, credentials: Credentials) -> Mechanism:
    """A fresh client for *method* (upper case, one of ``AUTH_METHODS``)."""
    if method in ("SCRAM-SHA-1", "SCRAM-SHA-256"):
        from smtpq.sender.auth.sasl.scram import Scram

        return Scram(credentials, method)
    factory = _factory(method)
    if factory is None:
        raise ValueError(f"unknown authentication method {method}")
    return factory(credentials)


def _factory(method: str) -> type[Mechanism] | None:
    """The class for *method*, importing its module only: a send pays for one method's
    imports, not for the others' (``hashlib`` and ``secrets`` for DIGEST-MD5, ``typing``
    for NTLM/GSSAPI)."""
    if method in ("PLAIN", "LOGIN", "CRAM-MD5", "EXTERNAL"):
        from smtpq.sender.auth.sasl import simple

        return {"PLAIN": simple.Plain, "LOGIN": simple.Login, "CRAM-MD5": simple.CramMd5,
                "EXTERNAL": simple.External}[method]
    if method in ("OAUTHBEARER", "XOAUTH2"):
        from smtpq.sender.auth.sasl import oauth

        return oauth.OAuthBearer if method == "OAUTHBEARER" else oauth.XOAuth2
    if method == "DIGEST-MD5":
        from smtpq.sender.auth.sasl import digest_md5

        return digest_md5.DigestMd5
    if method in ("NTLM", "GSSAPI"):
        from smtpq.sender.auth.sasl import gss

        return gss.Ntlm if method == "NTLM" else gss.Gssapi
    return None


__all__ = ["Credentials", "Mechanism", "PASSWORDLESS", "USERLESS",
           "create_mechanism"]
