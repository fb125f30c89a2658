"""Which account an envelope-from address chooses (msmtp's ``find_account_by_envelope_from``).

The first account in merged order whose raw ``from`` (before ``%``
substitution) matches wins.  Verified against msmtp 1.8.23:

1. If the address has a ``+`` before its first ``@`` and the account's
   ``from`` has no ``+``, the address without the ``+detail`` part is compared
   case-insensitively (``bob+tag@x`` matches ``bob@x``, ``+x@b`` matches
   ``@b``).  The wildcard branch is then *skipped*: ``y+tag@wild.example``
   does not match ``*@wild.example``.
2. Else, if ``from`` contains ``*``, ``?`` or ``[``, it is a case-sensitive
   shell pattern (C ``fnmatch``, see ``wildcard``; locale-dependent).
3. Else, case-insensitive equality (ASCII case only, as ``strcasecmp``).
"""

from __future__ import annotations

from smtpq.sender.config.wildcard import fnmatch

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (import cost)
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from smtpq.sender.config.settings import Account

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def same_ignoring_case(a: str, b: str) -> bool:
    """C ``strcasecmp(a, b) == 0``: only ASCII letters fold."""
    return a.translate(_ASCII_LOWER) == b.translate(_ASCII_LOWER)


def is_pattern(text: str) -> bool:
    return any(c in text for c in "*?[")


def locale_is_utf8(env: Mapping[str, str]) -> bool:
    """Whether ``setlocale(LC_ALL, "")`` would select a UTF-8 character type."""
    for variable in ("LC_ALL", "LC_CTYPE", "LANG"):
        value = env.get(variable)
        if value:  # e.g. "C.UTF-8", "en_US.utf8", "de_DE.UTF-8@euro"
            codeset = value.partition(".")[2].partition("@")[0]
            return codeset.replace("-", "").lower() == "utf8"
    return False


def _without_detail(address: str) -> str | None:
    """``local+detail@domain`` → ``local@domain``; None without a ``+`` before the ``@``."""
    plus, at = address.find("+"), address.find("@")
    if plus == -1 or at == -1 or plus > at:
        return None
    return address[:plus] + address[at:]


def from_matches(account_from: str, address: str, *, utf8: bool = True) -> bool:
    """Whether an account whose ``from`` is *account_from* is chosen by *address*."""
    stripped = _without_detail(address)
    if stripped is not None and "+" not in account_from:
        return same_ignoring_case(stripped, account_from)
    if is_pattern(account_from):
        return fnmatch(account_from, address, utf8=utf8)
    return same_ignoring_case(address, account_from)


def find_by_envelope_from(
    accounts: Iterable[Account], address: str, *, utf8: bool = True,
) -> Account | None:
    """The first account whose ``from`` matches *address* (see the module docstring)."""
    for account in accounts:
        if account.from_ is not None and from_matches(account.from_, address, utf8=utf8):
            return account
    return None
