"""The session classes the msmtp modes use: msmtp's manners on top of :class:`Session`.

* :class:`MsmtpSession` — when ``tls`` wants STARTTLS and the server does not
  offer it (RFC 3207 §4), msmtp says QUIT before it gives up
  (``msmtp_endsession(&srv, 1)``) instead of just closing;
* :class:`TracingSession` — ``--debug``: msmtp's ``msmtp_sendmail`` prints the
  TLS information (the "TLS session parameters" / "TLS certificate
  information" blocks ``--serverinfo`` shows) as soon as TLS is up — before
  the greeting for implicit TLS (RFC 8314 §3.3), before the second EHLO after
  STARTTLS (RFC 3207 §4.2).
"""

from __future__ import annotations

from smtpq.sender.protocol.session import Session


class MsmtpSession(Session):
    """A :class:`Session` that QUITs when STARTTLS is required but not offered."""

    def starttls(self) -> None:
        if not self.capabilities.starttls:
            self.quit()  # then Session.starttls raises "…does not support TLS via STARTTLS"
        super().starttls()


class TracingSession(MsmtpSession):
    """An :class:`MsmtpSession` that writes the TLS information into its transcript."""

    def _handshake(self) -> None:
        # The protocol layer has no public "TLS is up" hook; this is its one handshake step.
        super()._handshake()
        sink = self.tracer.sink
        if sink is not None and self.tls_info is not None:
            from smtpq.sender.tls import format_tls_info  # TLS is up: ssl is loaded anyway

            sink("".join(f"{line}\n" for line in format_tls_info(self.tls_info)))
