"""What the SASL mechanisms need from an SMTP session (implemented by the protocol layer)."""

from __future__ import annotations

from typing import Protocol

from smtpq.sender.protocol.reply import Reply


class AuthChannel(Protocol):
    """A connected, greeted session, as seen by an AUTH exchange (RFC 4954 §4)."""

    #: AUTH mechanisms the server announced in its last EHLO/LHLO reply, upper case.
    auth_methods: frozenset[str]
    #: True once TLS is active (implicit TLS or after STARTTLS).
    tls_active: bool
    #: The host name used to reach the server (for GSSAPI/DIGEST-MD5 service names).
    server_host: str
    #: The port connected to (OAUTHBEARER sends it, RFC 7628 §3.1); 0 when unknown
    #: or not TCP.  Read with ``getattr(channel, "server_port", 0)``, so a session
    #: without it still works (the port is then left out).
    server_port: int

    def command(self, line: str, *, secret: bool = False) -> Reply:
        """Send one command line (CRLF added) and read its reply.

        ``secret=True`` marks lines carrying credentials; ``--debug`` then shows
        them redacted.
        """
        ...
