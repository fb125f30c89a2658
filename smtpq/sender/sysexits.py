"""The sysexits(3) exit codes, as msmtp uses them."""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """sysexits(3) codes; ``.name`` is what msmtp writes as ``exitcode=`` in its log."""

    EX_OK = 0
    EX_USAGE = 64
    EX_DATAERR = 65
    EX_NOINPUT = 66
    EX_NOUSER = 67
    EX_NOHOST = 68
    EX_UNAVAILABLE = 69
    EX_SOFTWARE = 70
    EX_OSERR = 71
    EX_OSFILE = 72
    EX_CANTCREAT = 73
    EX_IOERR = 74
    EX_TEMPFAIL = 75
    EX_PROTOCOL = 76
    EX_NOPERM = 77
    EX_CONFIG = 78


def exit_name(code: int) -> str:
    """The ``EX_…`` name of *code*, or ``EX_SOFTWARE`` for a code sysexits does not define."""
    try:
        return ExitCode(code).name
    except ValueError:
        return ExitCode.EX_SOFTWARE.name
