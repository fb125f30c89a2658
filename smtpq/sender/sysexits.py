"""The sysexits(3) exit codes, as msmtp uses them.

Plain ``int`` constants, not an ``enum.IntEnum``: every ``smtpq-sendmail``
process needs them, and ``import enum`` (with the ``collections`` and
``functools`` it pulls in) costs about 3 ms of the enqueue's ~17 ms
(docs/performance.md).  ``exit_name`` gives the ``EX_…`` name msmtp logs.
"""

from __future__ import annotations


class ExitCode:
    """sysexits(3) codes (a namespace of ints); ``exit_name`` is msmtp's ``exitcode=`` text."""

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


_NAMES = {code: name for name, code in vars(ExitCode).items() if name.startswith("EX_")}


def exit_name(code: int) -> str:
    """The ``EX_…`` name of *code*, or ``EX_SOFTWARE`` for a code sysexits does not define."""
    return _NAMES.get(code, "EX_SOFTWARE")
