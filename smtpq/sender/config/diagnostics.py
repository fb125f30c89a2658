"""The configuration errors msmtp 1.8.23 reports, word for word.

msmtp passes every error text through ``sanitize_string`` before printing it,
which replaces ASCII control characters with ``?`` (``unknown command ?`` for
a line holding a vertical tab; bytes >= 0x80 are kept, verified).  The file
name in front (``FILE: …``) is printed as is.
"""

from __future__ import annotations

from smtpq.sender.errors import ConfigError, InputError

_CONTROL = {i: "?" for i in (*range(32), 127)}


def sanitize(text: str) -> str:
    """msmtp's ``sanitize_string``: control characters become ``?``."""
    return text.translate(_CONTROL)


def in_file(conffile: str, text: str) -> str:
    """``FILE: text`` as msmtp's ``print_error("%s: %s", file, sanitize(text))``."""
    return f"{conffile}: {sanitize(text)}"


def line_error(conffile: str, line: int, text: str) -> ConfigError:
    """A syntax error on one line (``CONF_ESYNTAX``, exit 78)."""
    return ConfigError(in_file(conffile, f"line {line}: {text}"))


def unknown_command(conffile: str, line: int, command: str) -> ConfigError:
    return line_error(conffile, line, f"unknown command {command}")


def needs_argument(conffile: str, line: int, command: str) -> ConfigError:
    return line_error(conffile, line, f"command {command} needs an argument")


def takes_no_argument(conffile: str, line: int, command: str) -> ConfigError:
    return line_error(conffile, line, f"command {command} does not take an argument")


def invalid_argument(conffile: str, line: int, command: str, argument: str) -> ConfigError:
    return line_error(conffile, line, f"invalid argument {argument} for command {command}")


def file_config_error(conffile: str, text: str) -> ConfigError:
    """A whole-file problem reported with exit 78 (too long a line, insecure permissions)."""
    return ConfigError(in_file(conffile, text))


def file_input_error(conffile: str, text: str) -> InputError:
    """A file that cannot be read, or ``eval`` without output (exit 74, EX_IOERR)."""
    return InputError(in_file(conffile, text))
