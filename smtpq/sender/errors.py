"""The one exception hierarchy of smtpq; every class carries its sysexits code.

The error boundary (``smtpq.cli.boundary``) is the only place that turns these
into a message on stderr and a process exit status.
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


class ConfigError(SmtpqError):
    """Bad configuration: syntax, unknown account, missing host or from."""

    exit_code = ExitCode.EX_CONFIG


class InputError(SmtpqError):
    """A file that must be read cannot be read (``-C FILE`` missing, ``eval`` without output)."""

    exit_code = ExitCode.EX_IOERR


class DataError(SmtpqError):
    """The mail or an address in it is unusable."""

    exit_code = ExitCode.EX_DATAERR


class StoreError(SmtpqError):
    """The queue store cannot be written (disk full, read-only database)."""

    exit_code = ExitCode.EX_CANTCREAT


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
