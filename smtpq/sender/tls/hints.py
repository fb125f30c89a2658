"""Hints for the TLS, port and authentication mistakes msmtp users make most (reference §7).

msmtp's message stays as it is; :func:`failure_hints` says, from the account's
settings and msmtp's error text, what to change:

* ``TLS handshake failed: An unexpected TLS packet was received.`` with
  ``tls_starttls off``: the port speaks plain SMTP first (587, 25), so it
  wants STARTTLS — or the account meant port 465;
* ``network read error: the operation timed out`` on port 465 without
  ``tls_starttls off``: port 465 is SMTPS (RFC 8314 §3.3), whose server waits
  for the TLS handshake while the client waits for its greeting;
* ``cannot use a secure authentication method``: TLS is off and the server
  offers only PLAIN/LOGIN (``smtpq.sender.auth.choice``).

The texts are returned bare; print them with
``smtpq.sender.config.diagnostics.hint_lines``, which shows them on a
terminal or with ``SMTPQ_HINTS=1`` only, so scripts see exactly msmtp's lines.
"""

from __future__ import annotations

from smtpq.sender.auth.choice import NO_SECURE_METHOD, SECURE_METHOD_HINT
from smtpq.sender.config.settings import Account, Protocol

#: The implicit-TLS submission port (RFC 8314 §3.3).
SMTPS_PORT = 465
#: msmtp's text for a read timeout (the greeting never came).
READ_TIMEOUT = "network read error: the operation timed out"

STARTTLS_WANTED = (
    "the server on port {port} answered in plain text, so it expects STARTTLS: "
    "set 'tls_starttls on' (usual for ports 587 and 25), or use 'port 465' "
    "if the server offers TLS from the first byte (SMTPS)")
SMTPS_WANTED = (
    "port 465 expects TLS from the first byte (SMTPS), while this account waits "
    "for a plain-text greeting: set 'tls on' and 'tls_starttls off' (or use port 587 "
    "with 'tls_starttls on')")


def effective_port(account: Account) -> int:
    """The port msmtp connects to: the account's, else 465 for SMTPS, else 25 (SMTP)."""
    if account.port:
        return account.port
    if account.tls and not account.tls_starttls:
        return SMTPS_PORT
    return 25 if account.protocol == Protocol.SMTP else 0


def failure_hints(account: Account, errormsg: str | None) -> tuple[str, ...]:
    """What to change in *account* after it failed with msmtp's *errormsg*; () if nothing."""
    if not errormsg:
        return ()
    smtps = account.tls and not account.tls_starttls
    if smtps:
        # Only a TLS account loads the TLS layer (and ssl) for its message text.
        from smtpq.sender.tls.handshake import PLAIN_TEXT_PEER

        if errormsg == PLAIN_TEXT_PEER:
            return (STARTTLS_WANTED.format(port=effective_port(account)),)
    if errormsg == READ_TIMEOUT and not smtps and effective_port(account) == SMTPS_PORT:
        return (SMTPS_WANTED,)
    if errormsg == NO_SECURE_METHOD and not account.tls:
        return (SECURE_METHOD_HINT,)
    return ()
