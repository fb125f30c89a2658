"""The ``%`` substitutions of ``from`` and ``domain``, and the obsolete ``auto_from`` address.

Verified against msmtp 1.8.23:

* ``from`` knows ``%U %H %C %M``; ``domain`` knows ``%H %C %M`` (``%U`` stays
  literal there); ``host``, ``user``, ``maildomain`` know none.
* Which patterns apply is decided on the *original* text; each of those is
  then replaced everywhere, in the order ``%M``, ``%U``, ``%H``, ``%C``, and a
  later replacement also hits what an earlier one inserted.  So with
  ``USER=%H``, ``%U@%H`` becomes ``box@box``, but ``%U`` alone stays ``%H``;
  a mailname of ``%U`` turns ``%M %U`` into ``u u`` (all verified).  There is
  no ``%%`` escape.
* ``%U``: ``$USER``, else ``$LOGNAME``, else the login name — an *empty*
  variable is used as is.  ``%H``: ``$HOSTNAME`` (even empty), else
  ``gethostname()``.  ``%C``: the canonical name of ``%H`` (getaddrinfo with
  AI_CANONNAME), or ``%H`` itself when the lookup fails.  ``%M``: the first
  line of ``/etc/mailname``; a missing file is ``/etc/mailname: <strerror>``
  and an empty first line ``/etc/mailname: Invalid argument``, exit 78.
* ``auto_from on`` makes the address ``%U@maildomain`` (just the user name
  when ``maildomain`` is unset or empty); it replaces both ``from`` and ``-f``.
* Patterns are only evaluated when present (no DNS lookup otherwise).
"""

from __future__ import annotations

import errno
import os

from smtpq.sender.config import paths
from smtpq.sender.config.diagnostics import sanitize
from smtpq.sender.errors import ConfigError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (import cost)
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping


def user_name(env: Mapping[str, str]) -> str:
    """msmtp's user name for ``%U`` and ``auto_from``."""
    for variable in ("USER", "LOGNAME"):
        if variable in env:
            return env[variable]
    try:
        return os.getlogin()
    except OSError:
        pass
    import pwd

    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return ""


def host_name(env: Mapping[str, str]) -> str:
    """``%H``: ``$HOSTNAME``, else the system host name."""
    if "HOSTNAME" in env:
        return env["HOSTNAME"]
    import socket  # only for %H / %C: socket costs 2 ms of imports

    return socket.gethostname()


def canonical_name(env: Mapping[str, str]) -> str:
    """``%C``: the canonical name of ``%H``, or ``%H`` when it cannot be resolved."""
    import socket

    name = host_name(env)
    try:
        infos = socket.getaddrinfo(name, None, flags=socket.AI_CANONNAME)
    except (OSError, UnicodeError, ValueError):
        return name
    return next((info[3] for info in infos if info[3]), name)


def mail_name(env: Mapping[str, str]) -> str:
    """``%M``: the first line of the mailname file; ConfigError as msmtp otherwise."""
    path = paths.mailname_path(env)
    try:
        with open(path, "rb") as handle:
            first = handle.readline()
    except OSError as error:
        raise ConfigError(f"{path}: {os.strerror(error.errno or errno.EIO)}") from None
    if first.endswith(b"\n"):
        first = first[:-1]
    if first.endswith(b"\r"):
        first = first[:-1]
    if not first:
        raise ConfigError(f"{path}: {os.strerror(errno.EINVAL)}")
    # msmtp sanitizes what it read (a CR inside becomes "?", verified).
    return sanitize(first.decode("utf-8", "surrogateescape"))


_PATTERNS: dict[str, Callable[[Mapping[str, str]], str]] = {
    "%M": mail_name,
    "%U": user_name,
    "%H": host_name,
    "%C": canonical_name,
}


def _expand(text: str, patterns: tuple[str, ...], env: Mapping[str, str]) -> str:
    present = [pattern for pattern in patterns if pattern in text]
    for pattern in present:
        text = text.replace(pattern, _PATTERNS[pattern](env))
    return text


def expand_from(address: str, env: Mapping[str, str]) -> str:
    """``from`` (and ``-f``) after ``%M %U %H %C`` substitution."""
    return _expand(address, ("%M", "%U", "%H", "%C"), env)


def expand_domain(domain: str, env: Mapping[str, str]) -> str:
    """``domain`` after ``%M %H %C`` substitution."""
    return _expand(domain, ("%M", "%H", "%C"), env)


def auto_from_address(maildomain: str | None, env: Mapping[str, str]) -> str:
    """msmtp's ``msmtp_construct_env_from``: ``user@maildomain`` or just ``user``."""
    user = user_name(env)
    return f"{user}@{maildomain}" if maildomain else user
