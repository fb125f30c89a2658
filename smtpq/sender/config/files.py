"""Loading the system and user files and merging their accounts (msmtp's ``get_conffile_accounts``).

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
        from smtpq.sender.config.permissions import check_secure  # pwd, shlex: only then

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
