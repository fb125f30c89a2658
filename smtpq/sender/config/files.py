"""The system and user files: loading, merging accounts, the permission check (msmtp: ``get_conffile_accounts``).

Rules verified against msmtp 1.8.23 (system file via a private mount of /etc):

* The system file is optional: if it cannot be opened it is skipped with the
  note ``ignoring system configuration file F: <strerror>``; syntax errors in
  it are fatal.  It is never permission-checked.
* The user file is ``-C FILE`` or the discovered one (``paths``).  A ``-C``
  file that cannot be opened is ``F: <strerror>`` with exit 74; a discovered
  one is skipped with ``ignoring user configuration file F: <strerror>``.
* A directory opens but cannot be read: ``F: input error``, exit 74, for
  either file, discovered or not.
* Each loaded file adds ``loaded system/user configuration file F``.  These
  notes are what msmtp prints on stdout under ``--pretend``/``--debug``.
* Merge: a user account replaces the system account of the same name
  entirely; the order is system-only accounts first (in their order), then
  the user accounts.  That order decides ``-f`` matching.  ``defaults`` and
  inheritance never cross files.
"""

from __future__ import annotations

import errno
import os
import stat

from smtpq.sender.config import diagnostics, paths
from smtpq.sender.config.parser import parse_config
from smtpq.sender.errors import CannotOpenConfig

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (import cost)
if TYPE_CHECKING:
    from collections.abc import Mapping

    from smtpq.sender.config.evaluate import Evaluator
    from smtpq.sender.config.parser import ParsedFile
    from smtpq.sender.config.settings import Account


class LoadedConfig:
    """The merged accounts of the files msmtp would read, before an account is chosen.

    Accounts are in msmtp's raw state (``port`` 0 = default, ``tls_trust_file``
    None = not yet defaulted, no ``%`` substitutions); ``resolve_account``
    finishes the chosen one.
    """

    __slots__ = ("accounts", "notes", "system_file", "user_file")

    def __init__(self, accounts: list[Account] | None = None, system_file: str | None = None,
                 user_file: str | None = None, notes: list[str] | None = None) -> None:
        self.accounts = [] if accounts is None else accounts
        self.system_file = system_file  # the system file, if it was loaded
        self.user_file = user_file  # the user file, if it was loaded
        self.notes = [] if notes is None else notes

    def find(self, name: str) -> Account | None:
        """The account called *name* (exact, case-sensitive), or None."""
        return next((a for a in self.accounts if a.name == name), None)

    def not_found(self, name: str) -> str:
        """msmtp's message for an account that is in none of the loaded files."""
        loaded = [f for f in (self.system_file, self.user_file) if f is not None]
        if not loaded:
            return f"account {name} not found: no configuration file available"
        return f"account {name} not found in {' and '.join(loaded)}"


def _read(path: str) -> bytes:
    """The file's bytes; CannotOpenConfig where fopen() fails, InputError where reading does."""
    try:
        handle = open(path, "rb")  # noqa: SIM115 - opening and reading fail differently
    except IsADirectoryError:
        # fopen() succeeds on a directory, fgets() then fails: CONF_EIO (verified).
        raise diagnostics.file_input_error(path, "input error") from None
    except OSError as error:
        raise CannotOpenConfig(os.strerror(error.errno) if error.errno else str(error)) from None
    except ValueError:  # a NUL in the name: C would see a shorter, missing name
        raise CannotOpenConfig(os.strerror(errno.ENOENT)) from None
    try:
        with handle:
            return handle.read()
    except OSError:
        raise diagnostics.file_input_error(path, "input error") from None


def _load_system(
    env: Mapping[str, str], notes: list[str], evaluator: Evaluator | None,
) -> ParsedFile | None:
    path = paths.system_config_path(env)
    try:
        data = _read(path)
    except CannotOpenConfig as error:
        notes.append(f"ignoring system configuration file {path}: {error}")
        return None
    parsed = parse_config(data, path, env=env, evaluator=evaluator)
    notes.append(f"loaded system configuration file {path}")
    return parsed


def _load_user(
    given: str | None, env: Mapping[str, str], notes: list[str], euid: int | None,
    evaluator: Evaluator | None,
) -> ParsedFile | None:
    path = given if given is not None else paths.user_config_path(env)
    try:
        data = _read(path)
    except CannotOpenConfig as error:
        if given is not None:
            raise diagnostics.file_input_error(path, str(error)) from None
        notes.append(f"ignoring user configuration file {path}: {error}")
        return None
    parsed = parse_config(data, path, env=env, evaluator=evaluator)
    if parsed.has_password_line:
        check_secure(path, euid)
    notes.append(f"loaded user configuration file {path}")
    return parsed


def merge(system: list[Account], user: list[Account]) -> list[Account]:
    """System-only accounts first, then the user accounts (which win by name)."""
    user_names = {a.name for a in user}
    return [a for a in system if a.name not in user_names] + list(user)


def load_config(
    user_file: str | None,
    *,
    env: Mapping[str, str],
    euid: int | None = None,
    notes: list[str] | None = None,
    evaluator: Evaluator | None = None,
) -> LoadedConfig:
    """Read the system file and the user file (*user_file* = ``-C``; None = discover).

    *notes* (optional) receives the informational lines as they happen, so a
    caller still has them when an error is raised half-way; the returned
    ``LoadedConfig.notes`` is the same list.  *euid* defaults to
    ``os.geteuid()``.  Raises ConfigError (78) or InputError (74).
    """
    notes = [] if notes is None else notes
    system = _load_system(env, notes, evaluator)
    user = _load_user(user_file, env, notes, euid, evaluator)
    return LoadedConfig(
        accounts=merge(system.accounts if system else [], user.accounts if user else []),
        system_file=system.conffile if system else None,
        user_file=user.conffile if user else None,
        notes=notes,
    )


# msmtp's permission check of the user configuration file (reference §5.8).
#
# It applies only to the user file (``-C FILE`` or the discovered one), only
# when that file contains a literal ``password`` line (not one produced by
# ``eval``; an empty ``password`` line counts too), only after it parsed
# without error, and never for effective uid 0.  Verified as uid 65534:
#
# * owner must be the effective uid, else ``contains secrets and therefore must
#   be owned by you`` (checked first);
# * the mode must have no group/other bits and no user-execute bit (0700
#   fails, 0400 and 0600 pass; setuid/setgid/sticky bits are ignored), else
#   ``contains secrets and therefore must have no more than user read/write
#   permissions``.
#
# Both are exit 78 (EX_CONFIG) with the file name in front, followed by a hint
# with the command that fixes it (see ``diagnostics.hint_lines`` for when).

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
    import shlex  # only for a refused file

    quoted = shlex.quote(path)
    keep_out = "or keep the password out of the file with 'passwordeval'"
    if problem == NOT_OWNED:
        return (f"make the file yours: chown {_user_name(euid)} {quoted} (as root); {keep_out}",)
    return (f"make the file private: chmod 600 {quoted}; {keep_out}",)


def _user_name(uid: int) -> str:
    import pwd  # only for a refused file

    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)
