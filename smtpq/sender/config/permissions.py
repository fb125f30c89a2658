"""msmtp's permission check of the user configuration file (reference §5.8).

It applies only to the user file (``-C FILE`` or the discovered one), only
when that file contains a literal ``password`` line (not one produced by
``eval``; an empty ``password`` line counts too), only after it parsed
without error, and never for effective uid 0.  Verified as uid 65534:

* owner must be the effective uid, else ``contains secrets and therefore must
  be owned by you`` (checked first);
* the mode must have no group/other bits and no user-execute bit (0700
  fails, 0400 and 0600 pass; setuid/setgid/sticky bits are ignored), else
  ``contains secrets and therefore must have no more than user read/write
  permissions``.

Both are exit 78 (EX_CONFIG) with the file name in front, followed by a hint
with the command that fixes it (see ``diagnostics.hint_lines`` for when).
"""

from __future__ import annotations

import os
import pwd
import shlex
import stat

from smtpq.sender.config import diagnostics

NOT_OWNED = "contains secrets and therefore must be owned by you"
TOO_OPEN = "contains secrets and therefore must have no more than user read/write permissions"

#: Bits that must be clear: user-execute and everything for group and others.
FORBIDDEN_BITS = stat.S_IXUSR | stat.S_IRWXG | stat.S_IRWXO


def insecurity(st_uid: int, st_mode: int, euid: int) -> str | None:
    """Why a file with this owner and mode may not hold secrets for *euid*, or None."""
    if euid == 0:
        return None
    if st_uid != euid:
        return NOT_OWNED
    if st_mode & FORBIDDEN_BITS:
        return TOO_OPEN
    return None


def check_secure(path: str, euid: int | None = None) -> None:
    """Raise ConfigError if the user file *path* must not contain a password (see module)."""
    if euid is None:
        euid = os.geteuid()
    if euid == 0:
        return
    try:
        st = os.stat(path)
    except OSError as error:
        raise diagnostics.file_input_error(path, os.strerror(error.errno or 0)) from None
    problem = insecurity(st.st_uid, st.st_mode, euid)
    if problem is not None:
        raise diagnostics.file_config_error(path, problem, fix_hint(problem, path, euid))


def fix_hint(problem: str, path: str, euid: int) -> tuple[str, ...]:
    """What to run so that *path* may hold a password (or how to keep it out of the file)."""
    quoted = shlex.quote(path)
    keep_out = "or keep the password out of the file with 'passwordeval'"
    if problem == NOT_OWNED:
        return (f"make the file yours: chown {_user_name(euid)} {quoted} (as root); {keep_out}",)
    return (f"make the file private: chmod 600 {quoted}; {keep_out}",)


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)
