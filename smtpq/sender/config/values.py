"""Argument checks shared by configuration commands and command-line options.

Each function mirrors one of msmtp 1.8.23's own checks (``conf.c``) and raises
``ValueError`` when msmtp would report ``invalid argument``; the caller adds the
file/line or option name to the message.  The quirks are msmtp's, verified
against the binary (see ``tests/sender/config/test_config_values.py``):
numbers are read like C ``strtol(s, &end, 0)`` (``0x19``, ``031`` and `` 25``
are all 25), and ``dsn_notify`` uses msmtp's substring-counting check, which
accepts oddities such as ``failuredelay,``.
"""

from __future__ import annotations

AUTH_ARGUMENTS = (
    "plain", "scram-sha-1", "scram-sha-256", "oauthbearer", "xoauth2", "cram-md5",
    "gssapi", "external", "digest-md5", "login", "ntlm",
)
SYSLOG_FACILITIES = ("LOG_USER", "LOG_MAIL") + tuple(f"LOG_LOCAL{i}" for i in range(8))
DSN_CONDITIONS = ("failure", "delay", "success")
INT_MAX = 2**31 - 1
LONG_MAX = 2**63 - 1

# C isspace() in the "C"/"C.UTF-8" locales: what strtol skips before a number.
_C_SPACE = " \t\n\v\f\r"
_DIGITS = {8: "01234567", 10: "0123456789", 16: "0123456789abcdefABCDEF"}


def on_off(arg: str) -> bool:
    """``on`` (or empty) is True, ``off`` is False; anything else is invalid."""
    if arg in ("", "on"):
        return True
    if arg == "off":
        return False
    raise ValueError(arg)


def strtol(text: str) -> tuple[int, str] | None:
    """C ``strtol(text, &end, 0)``: the value and the unparsed rest, or None if no digits.

    The value is clamped to LONG_MAX/LONG_MIN as glibc does on overflow.
    """
    pos = len(text) - len(text.lstrip(_C_SPACE))
    sign = 1
    if text[pos:pos + 1] in ("+", "-"):
        sign = -1 if text[pos] == "-" else 1
        pos += 1
    base = 10
    if text[pos:pos + 2] in ("0x", "0X") and text[pos + 2:pos + 3] in tuple(_DIGITS[16]):
        base, pos = 16, pos + 2
    elif text[pos:pos + 1] == "0":
        base = 8
    end = pos
    while end < len(text) and text[end] in _DIGITS[base]:
        end += 1
    if end == pos:
        return None
    value = sign * int(text[pos:end], base)
    return max(-LONG_MAX - 1, min(LONG_MAX, value)), text[end:]


def positive_int(arg: str) -> int:
    """msmtp's ``get_pos_int``: 1..INT_MAX as ``strtol(…, 0)`` reads it, nothing after."""
    parsed = strtol(arg)
    if parsed is None:
        raise ValueError(arg)
    value, rest = parsed
    if value <= 0 or value >= LONG_MAX or value > INT_MAX or rest:
        raise ValueError(arg)
    return value


def port(arg: str) -> int:
    """A TCP port, 1..65535 (``port`` and ``proxy_port`` commands)."""
    value = positive_int(arg)
    if value > 65535:
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
        if len(pair) != 2 or any(c not in _DIGITS[16] for c in pair):
            raise ValueError(arg)
        if i < size - 1 and arg[3 * i + 2] not in ": ":
            raise ValueError(arg)
        out.append(int(pair, 16))
    return bytes(out)


def auth_method(arg: str) -> str:
    """``on``/empty → choose (``""``); a known method (lower case only) → its upper case."""
    if arg in ("", "on"):
        return ""
    if arg in AUTH_ARGUMENTS:
        return arg.upper()
    raise ValueError(arg)


def dsn_notify(arg: str) -> str:
    """``never`` or failure/delay/success joined by commas; upper-cased.

    This is msmtp's ``check_dsn_notify_arg`` exactly: it counts which of the
    three words occur as substrings and then only checks the total length
    and the number of commas, so ``failuredelay,`` passes (verified).
    """
    if arg != "never":
        present = [word for word in DSN_CONDITIONS if word in arg]
        count = len(present)
        expected = sum(len(word) for word in present) + count - 1
        if count == 0 or len(arg) != expected or arg.count(",") < count - 1:
            raise ValueError(arg)
    return _c_upper(arg)


def dsn_return(arg: str, *, hdrs_alias: bool = True) -> str:
    """``headers`` → HDRS, ``full`` → FULL.

    ``hdrs`` is accepted on the command line only (``--dsn-return=hdrs``);
    the ``dsn_return`` command rejects it, so the parser passes
    ``hdrs_alias=False``.
    """
    if arg == "headers" or (hdrs_alias and arg == "hdrs"):
        return "HDRS"
    if arg == "full":
        return "FULL"
    raise ValueError(arg)


def syslog_facility(arg: str) -> str:
    """One of LOG_USER, LOG_MAIL, LOG_LOCAL0..7 (``on``/empty handled by the caller)."""
    if arg in SYSLOG_FACILITIES:
        return arg
    raise ValueError(arg)


def _c_upper(text: str) -> str:
    """C ``toupper`` byte by byte: ASCII letters only."""
    return "".join(chr(ord(c) - 32) if "a" <= c <= "z" else c for c in text)
