"""The configuration errors msmtp 1.8.23 reports, word for word.

msmtp passes every error text through ``sanitize_string`` before printing it,
which replaces ASCII control characters with ``?`` (``unknown command ?`` for
a line holding a vertical tab; bytes >= 0x80 are kept, verified).  The file
name in front (``FILE: …``) is printed as is.

Hints: for the traps msmtp users fall into most (reference §7), smtpq adds a
``hint: …`` line *after* msmtp's unchanged message, saying what to change.
They are shown when standard error is a terminal, always with
``SMTPQ_HINTS=1`` and never with ``SMTPQ_HINTS=0``, so scripts, mail clients
and the differential tests see exactly msmtp's lines.  :func:`hint_lines`
applies that rule for every hint in smtpq.
"""

from __future__ import annotations

import os
import sys

from smtpq.sender.errors import ConfigError, InputError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (import cost)
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import TextIO

_CONTROL = {i: "?" for i in (*range(32), 127)}

#: ``1``: always print hints, ``0``: never; unset or anything else: only on a terminal.
HINTS_ENV = "SMTPQ_HINTS"

#: Hints for line errors, by msmtp's text (reference §0.9: the implicit ``default`` account).
LINE_HINTS = {
    "account default was already defined": (
        ("lines above the first 'account' line make an account named 'default' by themselves "
         "(msmtp 1.2 compatibility); put a 'defaults' line above them, or remove the second "
         "'account default'"),
    ),
}


def hints_wanted(env: Mapping[str, str] | None = None, stream: TextIO | None = None) -> bool:
    """Whether to print hint lines: ``$SMTPQ_HINTS`` decides, else whether *stream*
    (standard error) is a terminal."""
    value = (os.environ if env is None else env).get(HINTS_ENV, "").strip()
    if value in ("0", "1"):
        return value == "1"
    stream = sys.stderr if stream is None else stream
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no stream, or a closed one
        return False


def hint_lines(*texts: str, env: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """``hint: TEXT`` detail lines for *texts*, or none when hints are not wanted."""
    if not texts or not hints_wanted(env):
        return ()
    return tuple(f"hint: {text}" for text in texts)


def sanitize(text: str) -> str:
    """msmtp's ``sanitize_string``: control characters become ``?``."""
    return text.translate(_CONTROL)


def in_file(conffile: str, text: str) -> str:
    """``FILE: text`` as msmtp's ``print_error("%s: %s", file, sanitize(text))``."""
    return f"{conffile}: {sanitize(text)}"


def line_error(conffile: str, line: int, text: str) -> ConfigError:
    """A syntax error on one line (``CONF_ESYNTAX``, exit 78), with its hint if it has one."""
    return ConfigError(in_file(conffile, f"line {line}: {text}"),
                       details=hint_lines(*LINE_HINTS.get(text, ())))


def unknown_command(conffile: str, line: int, command: str) -> ConfigError:
    return line_error(conffile, line, f"unknown command {command}")


def needs_argument(conffile: str, line: int, command: str) -> ConfigError:
    return line_error(conffile, line, f"command {command} needs an argument")


def takes_no_argument(conffile: str, line: int, command: str) -> ConfigError:
    return line_error(conffile, line, f"command {command} does not take an argument")


def invalid_argument(conffile: str, line: int, command: str, argument: str) -> ConfigError:
    return line_error(conffile, line, f"invalid argument {argument} for command {command}")


def file_config_error(conffile: str, text: str, hints: tuple[str, ...] = ()) -> ConfigError:
    """A whole-file problem reported with exit 78 (too long a line, insecure permissions);
    *hints* are shown as :func:`hint_lines` says."""
    return ConfigError(in_file(conffile, text), details=hint_lines(*hints))


def file_input_error(conffile: str, text: str) -> InputError:
    """A file that cannot be read, or ``eval`` without output (exit 74, EX_IOERR)."""
    return InputError(in_file(conffile, text))
