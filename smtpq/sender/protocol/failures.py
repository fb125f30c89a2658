"""Delivery failures of the protocol and TLS layers, with msmtp's texts and exit codes.

msmtp maps its internal error kinds to sysexits (``smtp_exitcode``,
``net_exitcode``, ``mtls_exitcode``); the subclasses below keep that kind so
the queue can tell "never reached the server" from "the server said no".
Every instance is a :class:`~smtpq.sender.errors.DeliveryError`.
"""

from __future__ import annotations

from smtpq.sender.errors import DeliveryError
from smtpq.sender.protocol.reply import Reply
from smtpq.sender.sysexits import ExitCode


class NetworkError(DeliveryError):
    """Name lookup, connect, proxy or socket I/O failed (68, 69, 71, 74, 75)."""

    exit_code = ExitCode.EX_IOERR


class StageTimeout(NetworkError):
    """A network stage outlived its overall deadline (``.deadlines``; the queue's, not
    msmtp's): ``timed out after 300 s waiting for the greeting``, EX_TEMPFAIL (75).

    ``connecting`` is true when the connection itself was never made (the
    server is unreachable rather than stalled).
    """

    exit_code = ExitCode.EX_TEMPFAIL

    def __init__(self, seconds: float, waiting_for: str, *, connecting: bool = False) -> None:
        super().__init__(f"timed out after {seconds:g} s {waiting_for}")
        self.seconds = seconds
        self.waiting_for = waiting_for
        self.connecting = connecting


class ProtocolError(DeliveryError):
    """The server broke the protocol or refused a session-level command (76)."""

    exit_code = ExitCode.EX_PROTOCOL


class TlsError(DeliveryError):
    """TLS setup, handshake or certificate verification failed (66, 69, 70, 76)."""

    exit_code = ExitCode.EX_UNAVAILABLE


class ServerRejection(DeliveryError):
    """The server answered MAIL, RCPT, DATA or end-of-data negatively (65, 69)."""

    exit_code = ExitCode.EX_UNAVAILABLE

    @property
    def is_permanent(self) -> bool:
        """True for a 5xx reply (RFC 5321 §4.2.1); the queue may then give up."""
        return self.smtp_status is not None and self.smtp_status // 100 == 5


class MessageTooLarge(ServerRejection):
    """The mail is larger than the server's SIZE limit (RFC 1870 §4); always permanent."""

    @property
    def is_permanent(self) -> bool:
        return True


class CapabilityMissing(DeliveryError):
    """The server lacks something the account requires (STARTTLS, DSN, ETRN): 69."""

    exit_code = ExitCode.EX_UNAVAILABLE


def with_reply(cls: type[DeliveryError], message: str, reply: Reply | None,
               exit_code: int | None = None) -> DeliveryError:
    """An error of class *cls* carrying *reply* as msmtp's ``smtpstatus``/``smtpmsg``."""
    if reply is None:
        return cls(message, exit_code=exit_code)
    return cls(message, exit_code=exit_code, smtp_status=reply.code, smtp_message=reply.lines)


def rejection(message: str, reply: Reply) -> DeliveryError:
    """msmtp's rule for MAIL/RCPT/DATA: 4xx is EX_UNAVAILABLE, anything else EX_DATAERR."""
    code = ExitCode.EX_UNAVAILABLE if reply.is_transient else ExitCode.EX_DATAERR
    return with_reply(ServerRejection, message, reply, code)
