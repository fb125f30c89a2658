"""Appending the log line to ``logfile`` as msmtp's ``msmtp_log_to_file`` does.

* The line is prefixed with ``strftime(logfile_time_format)`` of the local
  time and a blank (default format ``%b %d %H:%M:%S``).  msmtp 1.8.23 has no
  "no time stamp" format: ``none`` (a later msmtp's switch) is printed
  literally, as 1.8.23 does.  Month and day names are always English, whatever
  the locale, so log parsers see the same text as from msmtp in a C locale.
* ``-`` means standard output; any other name is opened for appending
  (created with mode 0666 & ~umask) and write-locked with ``fcntl``
  (``F_SETLK`` on the whole file, retried every 0.1 s for up to 10 s), the
  lock msmtp takes, so both programs can share one log file.
* A failure never changes the result of the mail: the function returns
  msmtp's two messages (``cannot log to FILE: REASON`` and
  ``log info was: LINE``) for the caller to print with the program prefix.
"""

from __future__ import annotations

import errno
import os
import sys
import time

from smtpq.sender.errors import LogFileFailure

DEFAULT_TIME_FORMAT = "%b %d %H:%M:%S"
LOCK_TIMEOUT = 10  # seconds, as msmtp

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_LONG_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_LONG_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
                "September", "October", "November", "December")
#: The C locale's composite conversions, spelled out so that names stay English.
_C_LOCALE_FORMATS = {"c": "%a %b %e %H:%M:%S %Y", "x": "%m/%d/%y", "X": "%H:%M:%S",
                     "r": "%I:%M:%S %p"}


def log_to_file(path: str, line: str, *, time_format: str | None = None,
                now: float | None = None, lock_timeout: int = LOCK_TIMEOUT) -> tuple[str, ...]:
    """Append *line* (from ``format_log_line``) to *path*; return msmtp's messages on failure.

    The returned messages carry no program prefix; an empty tuple means success.
    """
    try:
        try:
            stamp = log_time(time_format, now)
        except ValueError:
            raise LogFileFailure("invalid logfile_time_format") from None
        data = (stamp + " " + line + "\n").encode("utf-8", "surrogateescape")
        if path == "-":
            _write_stdout(data)
        else:
            _append_locked(path, data, lock_timeout)
    except LogFileFailure as failure:
        return (f"cannot log to {path}: {failure}", f"log info was: {line}")
    return ()


def log_time(time_format: str | None, now: float | None = None) -> str:
    """The time stamp for the log file.

    Like C ``strftime`` into msmtp's 128-byte buffer, an empty or too long
    result is an error: ``ValueError`` (msmtp: ``invalid logfile_time_format``).
    """
    when = time.localtime(time.time() if now is None else now)
    stamp = time.strftime(_english(time_format or DEFAULT_TIME_FORMAT, when), when)
    if not stamp or len(stamp.encode("utf-8", "surrogateescape")) >= 128:
        raise ValueError(time_format)
    return stamp


def _english(fmt: str, when: time.struct_time) -> str:
    """Replace the locale-dependent conversions of *fmt* by English (C locale) text."""
    out: list[str] = []
    i = 0
    while i < len(fmt):
        if fmt[i] != "%" or i + 1 == len(fmt):
            out.append(fmt[i])
            i += 1
            continue
        conv = fmt[i + 1]
        if conv in _C_LOCALE_FORMATS:
            out.append(_english(_C_LOCALE_FORMATS[conv], when))
        else:
            out.append(_name(conv, when) or "%" + conv)
        i += 2
    return "".join(out)


def _name(conv: str, when: time.struct_time) -> str | None:
    """English text of a name conversion, ``%``-escaped for strftime; None for others."""
    if conv == "a":
        return _DAYS[when.tm_wday]
    if conv == "A":
        return _LONG_DAYS[when.tm_wday]
    if conv in ("b", "h"):
        return _MONTHS[when.tm_mon - 1]
    if conv == "B":
        return _LONG_MONTHS[when.tm_mon - 1]
    if conv in ("p", "P"):
        text = "AM" if when.tm_hour < 12 else "PM"
        return text if conv == "p" else text.lower()
    return None


def _write_stdout(data: bytes) -> None:
    try:
        sys.stdout.flush()
        buffer = getattr(sys.stdout, "buffer", None)
        if buffer is None:
            sys.stdout.write(data.decode("utf-8", "surrogateescape"))
        else:
            buffer.write(data)
        sys.stdout.flush()
    except (OSError, ValueError):
        raise LogFileFailure("output error") from None


def _append_locked(path: str, data: bytes, lock_timeout: int) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o666)
    except OSError as e:
        raise LogFileFailure(f"cannot open: {e.strerror}") from None
    try:
        _lock(fd, lock_timeout)
        _write_all(fd, data)
    finally:
        try:
            os.close(fd)  # releases the lock
        except OSError:
            pass


def _lock(fd: int, timeout: int) -> None:
    """msmtp's ``lock_file(f, TOOLS_LOCK_WRITE, timeout)``."""
    import fcntl

    tenths = 0
    while True:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except OSError as e:
            if e.errno not in (errno.EACCES, errno.EAGAIN):
                raise LogFileFailure(f"cannot lock: {e.strerror}") from None
            if tenths // 10 >= timeout:
                raise LogFileFailure(
                    f"cannot lock (tried for {timeout} seconds): {e.strerror}") from None
        time.sleep(0.1)
        tenths += 1


def _write_all(fd: int, data: bytes) -> None:
    try:
        while data:
            data = data[os.write(fd, data):]
    except OSError:
        raise LogFileFailure("output error") from None
