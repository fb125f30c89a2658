"""The one error boundary: every ``SmtpqError`` becomes ``PROG: message`` and its exit code.

Nothing else in smtpq prints an error or chooses an exit status.  Any other
exception is a bug: it is reported in one line (never a traceback, which could
carry a secret) with EX_SOFTWARE.  Set ``SMTPQ_TRACEBACK=1`` to see it.
"""

from __future__ import annotations

import os
import sys

from smtpq.sender.errors import SmtpqError
from smtpq.sender.sysexits import ExitCode

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (import cost)
if TYPE_CHECKING:
    from collections.abc import Callable


def program_name(argv0: str) -> str:
    """The basename msmtp prefixes its messages with (``sendmail`` through a symlink)."""
    return os.path.basename(argv0) or "smtpq-sendmail"


def report(prog: str, error: SmtpqError, argv0: str | None = None) -> int:
    """Print *error* the way msmtp prints its errors and return the exit code.

    glibc's getopt messages name argv[0] exactly as given, msmtp's own the
    basename; errors raised for the former say so with ``prefix_is_argv0``.
    """
    if argv0 and getattr(error, "prefix_is_argv0", False):
        prog = argv0
    lines = [error.message, *error.details]
    text = "".join(f"{prog}: {line}\n" for line in lines)
    # Configuration values keep undecodable bytes as surrogates: give them back as bytes.
    sys.stderr.flush()
    buffer = getattr(sys.stderr, "buffer", None)
    if buffer is None:
        sys.stderr.write(text.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))
    else:
        buffer.write(text.encode("utf-8", "surrogateescape"))
        buffer.flush()
    return int(error.exit_code)


def run(main: Callable[[], int], prog: str, argv0: str | None = None) -> int:
    """Run *main*, translating every failure into a message and a sysexits code."""
    try:
        return main()
    except SmtpqError as error:
        return report(prog, error, argv0)
    except KeyboardInterrupt:
        sys.stderr.write(f"{prog}: interrupted\n")
        return int(ExitCode.EX_TEMPFAIL)
    except BrokenPipeError:
        # The reader went away (``smtpq list | head``): nothing left to say.
        _silence_stdout()
        return int(ExitCode.EX_IOERR)
    except OSError as error:
        text = error.strerror or str(error)
        where = f"{error.filename}: " if error.filename else ""
        return report(prog, SmtpqError(f"{where}{text}", exit_code=ExitCode.EX_IOERR))
    except Exception as error:  # noqa: BLE001 - this is the boundary
        if os.environ.get("SMTPQ_TRACEBACK"):
            raise
        message = f"internal error: {type(error).__name__}"
        return report(prog, SmtpqError(message, exit_code=ExitCode.EX_SOFTWARE))


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass
