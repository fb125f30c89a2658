"""The sender layer's error classes, all of them; every reported one carries its sysexits code.

``SmtpqError`` is the root of every error smtpq reports to a user, the queue's
too (``smtpq.queue.errors`` builds its tree on it).  The error boundary
(``smtpq.cli.boundary``) is the only place that turns one into a message on
stderr and a process exit status.

- Reported errors: ``UsageError`` (with glibc's ``GetoptError``),
  ``ConfigError``, ``InputError``, ``DataError``; ``DeliveryError`` and the
  kinds of delivery failure msmtp tells apart (``smtp_exitcode``,
  ``net_exitcode``, ``mtls_exitcode``), kept so the queue can tell "never
  reached the server" from "the server said no"; ``SendFailed`` and
  ``LogFailed``, a finished attempt as msmtp reports it.
- Signals inside the sender: a parser or a writer raises them and its caller
  turns them into msmtp's message (never reported as they are).

Both per-mail paths (enqueue and ``--send-now``) import this module: it
imports nothing but ``sysexits``.
"""

from __future__ import annotations

from smtpq.sender.sysexits import ExitCode

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (import cost)
if TYPE_CHECKING:
    from collections.abc import Sequence


class SmtpqError(Exception):
    """Base of every error smtpq reports to a user."""

    exit_code: int = ExitCode.EX_SOFTWARE

    def __init__(
        self,
        message: str,
        *,
        exit_code: int | None = None,
        details: Sequence[str] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        if exit_code is not None:
            self.exit_code = exit_code
        # Extra lines printed after the message, each with the program prefix
        # (msmtp prints "server message: …" lines and "could not send mail …").
        self.details = tuple(details)


class UsageError(SmtpqError):
    """Bad command line: unknown option, bad option argument, conflicting options."""

    exit_code = ExitCode.EX_USAGE


class GetoptError(UsageError):
    """A message glibc's getopt prints itself: its prefix is argv[0] verbatim, not the basename."""

    prefix_is_argv0 = True


class ConfigError(SmtpqError):
    """Bad configuration: syntax, unknown account, missing host or from."""

    exit_code = ExitCode.EX_CONFIG


class InputError(SmtpqError):
    """A file that must be read cannot be read (``-C FILE`` missing, ``eval`` without output)."""

    exit_code = ExitCode.EX_IOERR


class DataError(SmtpqError):
    """The mail or an address in it is unusable."""

    exit_code = ExitCode.EX_DATAERR


# -- delivery failures ---------------------------------------------------------------

class DeliveryError(SmtpqError):
    """A delivery attempt failed; carries what msmtp logs about it.

    ``errormsg`` is msmtp's error text (the log line's ``errormsg=``), and
    ``smtp_status``/``smtp_message`` the last server reply, if any.
    """

    exit_code = ExitCode.EX_UNAVAILABLE

    def __init__(
        self,
        message: str,
        *,
        exit_code: int | None = None,
        smtp_status: int | None = None,
        smtp_message: Sequence[str] = (),
    ) -> None:
        details = tuple(f"server message: {line}" for line in smtp_message)
        super().__init__(message, exit_code=exit_code, details=details)
        self.smtp_status = smtp_status
        self.smtp_message = tuple(smtp_message)


class NetworkError(DeliveryError):
    """Name lookup, connect, proxy or socket I/O failed (68, 69, 71, 74, 75)."""

    exit_code = ExitCode.EX_IOERR


class StageTimeout(NetworkError):
    """A network stage outlived its overall deadline (``protocol.deadlines``; the queue's,
    not msmtp's): ``timed out after 300 s waiting for the greeting``, EX_TEMPFAIL (75).

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


# -- a finished attempt, as msmtp reports it (smtpq.sender.delivery.report) ----------

class SendFailed(SmtpqError):
    """A mail msmtp could not send: its exit code and its exact stderr lines."""

    def __init__(self, lines: Sequence[str], *, exit_code: int) -> None:
        super().__init__(lines[0], exit_code=exit_code, details=lines[1:])


class LogFailed(SmtpqError):
    """The mail went, but the log line could not be written; msmtp still exits 0."""

    exit_code = ExitCode.EX_OK


# -- signals inside the sender: caught by the caller, which words msmtp's message ----

class LineTooLong(Exception):
    """A configuration line does not fit msmtp's buffer of *limit* characters
    (``config.lexer``); the message is msmtp's."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"line longer than {limit} characters")


class NeedsArgument(Exception):
    """``command X needs an argument`` (``config.commands``)."""


class TakesNoArgument(Exception):
    """``command X does not take an argument`` (``config.commands``)."""


class CannotOpenConfig(Exception):
    """fopen() failed on a configuration file (``config.files``); the message is its strerror()."""


class InvalidAddress(Exception):
    """The reason an address list does not parse (``message.addresses``)."""


class ReplyFormatError(Exception):
    """The server sent something that is not a reply (``protocol.reply``); ``message`` is
    msmtp's text."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class MechanismError(Exception):
    """The client side of a SASL exchange failed (``auth.sasl``; msmtp: a GNU SASL error,
    EX_SOFTWARE).

    ``reason`` is GNU SASL's ``gsasl_strerror`` text that msmtp would print after
    ``GNU SASL: ``; it never contains exchanged data.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class LogFileFailure(Exception):
    """The reason msmtp gives after ``cannot log to FILE:`` (``log.logfile``)."""


class DnsError(Exception):
    """No usable SRV answer for ``--configure`` (any reason: msmtp reports all of them alike)."""
