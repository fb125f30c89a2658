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
    factory = _factories().get(method)
    if factory is None:
        raise ValueError(f"unknown authentication method {method}")
    return factory(credentials)


def _factories() -> dict[str, type[Mechanism]]:
    from smtpq.sender.auth.sasl import digest_md5, gss, oauth, simple

    return {
        "PLAIN": simple.Plain,
        "LOGIN": simple.Login,
        "CRAM-MD5": simple.CramMd5,
        "EXTERNAL": simple.External,
        "OAUTHBEARER": oauth.OAuthBearer,
        "XOAUTH2": oauth.XOAuth2,
        "DIGEST-MD5": digest_md5.DigestMd5,
        "NTLM": gss.Ntlm,
        "GSSAPI": gss.Gssapi,
    }


__all__ = ["Credentials", "Mechanism", "PASSWORDLESS", "USERLESS",
           "create_mechanism"]
