"""The envelope-from address (``MAIL FROM``), chosen with msmtp's precedence (reference §5.4).

1. ``auto_from on`` (obsolete) wins: ``$USER@maildomain`` (no ``@`` part without a
   maildomain), ``$USER`` falling back to ``$LOGNAME`` and then the login name;
2. else ``-f ADDR`` / ``--read-envelope-from``, unless ``allow_from_override off``;
3. else the account's ``from`` (the configuration already substituted ``%U`` etc.);
4. else ``envelope-from address is missing`` (exit 78).

``-f '<>'`` (or an empty ``-f``) is the null reverse-path (RFC 5321 §4.5.5), kept
as ``""``.  Every other value must be one address: ``Jo <j@x>`` gives ``j@x``
(msmtp sends ``MAIL FROM:<Jo <j@x>>``), and line breaks, controls and spaces outside
quotes are refused, so nothing can be smuggled into the SMTP command.
"""

from __future__ import annotations

import os

from smtpq.sender.errors import ConfigError
from smtpq.sender.message.addresses import parse_single_address

NULL_SENDER = ""


def choose_envelope_from(
    *,
    account_from: str | None,
    from_arg: str | None = None,
    allow_from_override: bool = True,
    auto_from: bool = False,
    maildomain: str | None = None,
) -> str:
    """The envelope-from msmtp would use; ``""`` is the null sender.

    *from_arg* is the ``-f`` argument or the address ``--read-envelope-from``
    found in the mail.
    """
    if auto_from:
        return auto_from_address(maildomain)
    if from_arg is not None and allow_from_override:
        return normalize_envelope_from(from_arg)
    if account_from is not None:
        return normalize_envelope_from(account_from)
    raise ConfigError("envelope-from address is missing")


def normalize_envelope_from(text: str) -> str:
    """``<>``/empty is the null sender; anything else must be exactly one address."""
    if text.strip() in ("", "<>"):
        return NULL_SENDER
    return parse_single_address(text, what="envelope-from address")


def auto_from_address(maildomain: str | None) -> str:
    """``auto_from``'s ``USER@maildomain``, or just ``USER`` without a maildomain."""
    user = login_name()
    return normalize_envelope_from(f"{user}@{maildomain}" if maildomain else user)


def login_name() -> str:
    """``$USER``, else ``$LOGNAME``, else the login name of the real user (msmtp's order)."""
    for variable in ("USER", "LOGNAME"):
        value = os.environ.get(variable)
        if value:
            return value
    import pwd  # only when the environment does not say

    return pwd.getpwuid(os.getuid()).pw_name
