"""Where the configuration files are, and msmtp's ``~`` expansion.

* System file: ``/etc/msmtprc`` (msmtp's ``SYSCONFDIR/msmtprc`` on Debian).
  smtpq lets tests and unusual installs point elsewhere with the environment
  variable ``SMTPQ_SYSTEM_CONFIG`` (a file name; msmtp has no equivalent).
* User file (``get_userconfig``), verified with msmtp 1.8.23: ``$HOME/.msmtprc``
  if ``stat`` succeeds on it (even if it is unreadable), else
  ``$XDG_CONFIG_HOME/msmtp/config`` if that exists, else ``$HOME/.msmtprc``
  again (so "ignoring user configuration file …/.msmtprc" names it).
  ``$XDG_CONFIG_HOME`` defaults to ``$HOME/.config``; an *empty* value is used
  as is (giving ``/msmtp/config``).
* ``$HOME`` is used even when empty; only an unset ``HOME`` falls back to the
  password database (msmtp's ``get_homedir``).
* ``/etc/mailname`` (for ``%M``) is ``SMTPQ_MAILNAME`` when that is set.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (import cost)
if TYPE_CHECKING:
    from collections.abc import Mapping

SYSTEM_CONFIG = "/etc/msmtprc"
SYSTEM_CONFIG_ENV = "SMTPQ_SYSTEM_CONFIG"
MAILNAME = "/etc/mailname"
MAILNAME_ENV = "SMTPQ_MAILNAME"


def system_config_path(env: Mapping[str, str]) -> str:
    """The system configuration file: ``$SMTPQ_SYSTEM_CONFIG`` or ``/etc/msmtprc``."""
    return env.get(SYSTEM_CONFIG_ENV) or SYSTEM_CONFIG


def mailname_path(env: Mapping[str, str]) -> str:
    """The file ``%M`` reads: ``$SMTPQ_MAILNAME`` or ``/etc/mailname``."""
    return env.get(MAILNAME_ENV) or MAILNAME


def home_directory(env: Mapping[str, str]) -> str:
    """msmtp's ``get_homedir``: ``$HOME`` (even empty), else the password database."""
    home = env.get("HOME")
    if home is not None:
        return home
    import pwd

    try:
        return pwd.getpwuid(os.getuid()).pw_dir
    except KeyError:
        return ""


def expand_tilde(name: str, env: Mapping[str, str]) -> str:
    """A leading ``~`` becomes the home directory, verbatim (``~x`` → ``$HOME`` + ``x``)."""
    if not name.startswith("~"):
        return name
    return home_directory(env) + name[1:]


def get_filename(directory: str, name: str) -> str:
    """msmtp's ``get_filename``: join with one ``/`` unless *directory* already ends with one."""
    if directory.endswith("/"):
        return directory + name
    return directory + "/" + name


def user_config_path(env: Mapping[str, str]) -> str:
    """The user file msmtp tries when no ``-C`` is given (see the module docstring)."""
    home = home_directory(env)
    msmtprc = get_filename(home, ".msmtprc")
    if _exists(msmtprc):
        return msmtprc
    xdg = env.get("XDG_CONFIG_HOME")
    if xdg is None:
        xdg = home + "/.config"  # built with "%s/.config": no slash check (verified)
    xdg_file = get_filename(xdg, "msmtp/config")
    return xdg_file if _exists(xdg_file) else msmtprc


def _exists(path: str) -> bool:
    try:
        os.stat(path)
    except (OSError, ValueError):
        return False
    return True
