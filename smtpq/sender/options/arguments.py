"""Argument conversions that only the command line needs (msmtp's ``msmtp_cmdline``).

The checks shared with configuration commands live in
``smtpq.sender.config.values``; these differ from them on purpose:

* on the command line ``on``/``off``/``auto`` are exact words and an empty
  value (``--tls=``) is invalid, whereas the ``tls`` command treats an empty
  argument as ``on``;
* optional arguments arrive as ``None`` when not given (``--tls``);
* file names get msmtp's naive ``~`` expansion (``~x`` is ``$HOME`` + ``x``).

Every function raises ``ValueError`` where msmtp prints
``invalid argument X for --OPTION``.
"""

from __future__ import annotations

from smtpq.sender.config import values
from smtpq.sender.config.settings import AUTH_CHOOSE, HeaderPolicy, Protocol

#: ``get_default_syslog_facility()`` of msmtp.
DEFAULT_SYSLOG_FACILITY = "LOG_USER"


def on_off(arg: str | None) -> bool:
    """``--tls[=(on|off)]``: absent or ``on`` is True, ``off`` is False."""
    if arg is None or arg == "on":
        return True
    if arg == "off":
        return False
    raise ValueError(arg)


def port(arg: str) -> int:
    """1..65535 as C ``strtol(…, 0)`` reads it (``0x19``, ``031`` and `` 25`` are 25)."""
    number = values.positive_int(arg)
    if number > 65535:
        raise ValueError(arg)
    return number


def proxy_port(arg: str) -> int:
    """Empty unsets (0), else a port."""
    return port(arg) if arg else 0


def timeout(arg: str) -> int:
    """``off`` is 0, else a positive number of seconds."""
    return 0 if arg == "off" else values.positive_int(arg)


def optional_positive(arg: str) -> int | None:
    """``--tls-min-dh-prime-bits``: empty unsets, else a positive number."""
    return values.positive_int(arg) if arg else None


def text_or_unset(arg: str) -> str | None:
    """Empty unsets."""
    return arg or None


def auth(arg: str | None) -> str | None:
    """Absent/``on``/empty → choose, ``off`` → none, else a lower-case method name."""
    if arg is None:
        return AUTH_CHOOSE
    if arg == "off":
        return None
    return values.auth_method(arg)


def fingerprint(arg: str) -> bytes | None:
    """Empty unsets, else a SHA256/SHA1/MD5 fingerprint."""
    return values.fingerprint(arg) if arg else None


def dsn_notify(arg: str) -> str | None:
    return None if arg == "off" else values.dsn_notify(arg)


def dsn_return(arg: str) -> str | None:
    return None if arg == "off" else values.dsn_return(arg)


def protocol(arg: str) -> str:
    if arg in (Protocol.SMTP, Protocol.LMTP):  # the option's words are the values
        return arg
    raise ValueError(arg)


def syslog(arg: str | None) -> str | None:
    """Absent/``on`` → LOG_USER, ``off`` → unset, else a facility name."""
    if arg is None or arg == "on":
        return DEFAULT_SYSLOG_FACILITY
    if arg == "off":
        return None
    return values.syslog_facility(arg)


def from_header(arg: str | None) -> str:
    """``--set-from-header[=(auto|on|off)]``; absent means auto."""
    if arg is None or arg == "auto":
        return HeaderPolicy.AUTO
    if arg in ("on", "off"):
        return HeaderPolicy.ON if arg == "on" else HeaderPolicy.OFF
    raise ValueError(arg)


def auto_or_off(arg: str | None) -> str:
    """``--set-date-header`` / ``--set-msgid-header``: absent or ``auto``, or ``off``."""
    if arg is None or arg == "auto":
        return HeaderPolicy.AUTO
    if arg == "off":
        return HeaderPolicy.OFF
    raise ValueError(arg)


def add_missing(arg: str | None) -> str:
    """``--add-missing-*-header[=(on|off)]`` (msmtp < 1.8.8): on means auto."""
    return HeaderPolicy.AUTO if on_off(arg) else HeaderPolicy.OFF


def keepbcc(arg: str | None) -> bool:
    """``--keepbcc[=(on|off)]`` (msmtp 1.4.x) is the inverse of remove_bcc_headers."""
    return not on_off(arg)
