"""Argument checks shared by configuration commands and command-line options.

Each function mirrors one of msmtp's own checks (``conf.c``) and raises
``ValueError`` when msmtp would report ``invalid argument``; the caller adds the
file/line or option name to the message.
"""

from __future__ import annotations

AUTH_ARGUMENTS = (
    "plain", "scram-sha-1", "scram-sha-256", "oauthbearer", "xoauth2", "cram-md5",
    "gssapi", "external", "digest-md5", "login", "ntlm",
)
SYSLOG_FACILITIES = ("LOG_USER", "LOG_MAIL") + tuple(f"LOG_LOCAL{i}" for i in range(8))
DSN_CONDITIONS = ("failure", "delay", "success")
INT_MAX = 2**31 - 1


def on_off(arg: str) -> bool:
    """``on`` (or empty) is True, ``off`` is False; anything else is invalid."""
    if arg in ("", "on"):
        return True
    if arg == "off":
        return False
    raise ValueError(arg)


def positive_int(arg: str) -> int:
    """C ``strtol(s, &p, 0)`` accepting only 1..INT_MAX with no trailing garbage."""
    text = arg.strip(" \t\n\v\f\r") if arg[:1].isspace() else arg
    sign = 1
    if text[:1] in "+-" and text:
        sign = -1 if text[0] == "-" else 1
        text = text[1:]
    try:
        if text[:2].lower() == "0x":
            value = int(text[2:], 16)
        elif text[:1] == "0" and len(text) > 1:
            value = int(text[1:], 8)
        else:
            value = int(text, 10)
    except ValueError:
        raise ValueError(arg) from None
    if not text.isascii() or "_" in text or text != text.strip():
        raise ValueError(arg)
    value *= sign
    if value <= 0 or value > INT_MAX:
        raise ValueError(arg)
    return value


def fingerprint(arg: str) -> bytes:
    """``01:23:…`` (or blank-separated) hex of a SHA256, SHA1 or MD5 digest."""
    for size in (32, 20, 16):
        if len(arg) == 3 * size - 1:
            return _hex_pairs(arg, size)
    raise ValueError(arg)


def _hex_pairs(arg: str, size: int) -> bytes:
    out = bytearray()
    for i in range(size):
        pair = arg[3 * i:3 * i + 2]
        if len(pair) != 2 or any(c not in "0123456789abcdefABCDEF" for c in pair):
            raise ValueError(arg)
        if i < size - 1 and arg[3 * i + 2] not in ": ":
            raise ValueError(arg)
        out.append(int(pair, 16))
    return bytes(out)


def auth_method(arg: str) -> str:
    """``on``/empty → choose (``""``); a known method → its upper-case name."""
    if arg in ("", "on"):
        return ""
    if arg in AUTH_ARGUMENTS:
        return arg.upper()
    raise ValueError(arg)


def dsn_notify(arg: str) -> str:
    """``never`` or a comma list of failure/delay/success, each once; upper-cased."""
    if arg == "never":
        return "NEVER"
    parts = arg.split(",")
    if not parts or any(p not in DSN_CONDITIONS for p in parts) or len(set(parts)) != len(parts):
        raise ValueError(arg)
    return arg.upper()


def dsn_return(arg: str) -> str:
    """``headers`` (or ``hdrs``) → HDRS, ``full`` → FULL."""
    if arg in ("headers", "hdrs"):
        return "HDRS"
    if arg == "full":
        return "FULL"
    raise ValueError(arg)


def syslog_facility(arg: str) -> str:
    """One of LOG_USER, LOG_MAIL, LOG_LOCAL0..7 (``on``/empty handled by the caller)."""
    if arg in SYSLOG_FACILITIES:
        return arg
    raise ValueError(arg)
