"""Choosing the account for a run, applying the command line, and finishing it (reference §2.3).

The decision follows msmtp 1.8.23's ``main`` exactly (verified with
``--pretend``, whose decision lines are collected in ``Resolution.notes``):

1. ``--host``: the command-line settings are the account; no file is read.
   Note ``using account specified on command line``.
2. ``-a NAME``: that account, else ``account NAME not found in FILE``.
3. ``-f ADDR`` / ``--read-envelope-from``: the first account whose ``from``
   matches (``matching``); note ``account chosen by envelope from address
   ADDR: NAME``.
4. Otherwise note ``falling back to default account`` and take ``default``;
   if there is none (and no ``-a`` was given), ``$SMTPSERVER`` (+ ``$EMAIL``
   as ``from`` in sendmail mode unless ``-f`` was given) make an account,
   note ``using environment variables EMAIL and SMTPSERVER``.  Sendmail mode
   needs ``-f`` or ``$EMAIL`` for that; other modes only ``$SMTPSERVER``.
5. The command line overrides the account field by field (only what it set);
   ``-f`` does not when the account has ``allow_from_override off``.
6. ``finalize``: defaults, substitutions, checks; then the note
   ``using account NAME from FILE`` (file accounts only).

``envelope_from`` must already have ``<>`` turned into ``""``.
"""

from __future__ import annotations

from smtpq.sender.config import finalize
from smtpq.sender.config.files import LoadedConfig
from smtpq.sender.errors import ConfigError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (import cost)
if TYPE_CHECKING:
    from collections.abc import Mapping

    from smtpq.sender.config.settings import Account


class Resolution:
    """The account to use, finished, and the decision lines msmtp prints under --pretend."""

    __slots__ = ("account", "notes")

    def __init__(self, account: Account, notes: list[str] | None = None) -> None:
        self.account = account
        self.notes = [] if notes is None else notes


def command_line_account(
    overrides: Account, host: str | None, envelope_from: str | None,
) -> Account:
    """msmtp's ``cmdline_account``: the overrides plus ``--host`` and ``-f``, explicit."""
    cmdline = overrides.copy()
    if host is not None:
        cmdline.host = host
        cmdline.explicit.add("host")
    if envelope_from is not None:
        cmdline.from_ = envelope_from
        cmdline.explicit.add("from_")
    return cmdline


def _from_environment(
    cmdline: Account, env: Mapping[str, str], sendmail: bool, notes: list[str],
) -> Account | None:
    """Step 4's fallback to ``$EMAIL``/``$SMTPSERVER``, or None when it does not apply."""
    email, server = env.get("EMAIL"), env.get("SMTPSERVER")
    has_from = "from_" in cmdline.explicit
    if server is None or (sendmail and not has_from and email is None):
        return None
    account = cmdline.copy()
    if sendmail and not has_from:
        account.from_ = email
    account.host = server
    notes.append("using environment variables EMAIL and SMTPSERVER")
    return account


def choose_account(
    config: LoadedConfig, cmdline: Account, account_name: str | None, *,
    env: Mapping[str, str], sendmail: bool, notes: list[str],
) -> Account:
    """Steps 2–4: a copy of the chosen account (not yet overridden or finished)."""
    chosen: Account | None = None
    fallback = False
    if account_name is None:
        if "from_" in cmdline.explicit and cmdline.from_ is not None:
            from smtpq.sender.config.matching import find_by_envelope_from, locale_is_utf8

            chosen = find_by_envelope_from(config.accounts, cmdline.from_,
                                           utf8=locale_is_utf8(env))
            if chosen is not None:
                notes.append(
                    f"account chosen by envelope from address {cmdline.from_}: {chosen.name}")
        if chosen is None:
            account_name, fallback = "default", True
            notes.append("falling back to default account")
    name = "default" if account_name is None else account_name  # "" stays "" (msmtp)
    if chosen is None:
        chosen = config.find(name)
    if chosen is not None:
        return chosen.copy()
    from_env = _from_environment(cmdline, env, sendmail, notes) if fallback else None
    if from_env is None:
        raise ConfigError(config.not_found(name))
    return from_env


def apply_command_line(account: Account, cmdline: Account) -> None:
    """Step 5: msmtp's ``override_account`` with the ``allow_from_override`` exception."""
    overrides = cmdline.copy()
    if not account.allow_from_override:
        overrides.explicit.discard("from_")
    account.override_from(overrides)


def resolve_account(
    config: LoadedConfig | None,
    *,
    account_name: str | None,
    host: str | None,
    envelope_from: str | None,
    overrides: Account,
    env: Mapping[str, str],
    sendmail: bool = True,
    pretend: bool = False,
    notes: list[str] | None = None,
    password_command: finalize.PasswordCommand | None = None,
) -> Resolution:
    """Choose, override and finish the account as msmtp does (see the module docstring).

    *config* None means no file was read (with *host* given that is normal;
    without, it behaves like "no configuration file available").  *overrides*
    is the command-line account: only fields in ``overrides.explicit`` apply.
    *sendmail*/*pretend* are msmtp's modes: the ``from`` checks and
    substitutions apply in sendmail mode, the missing-``from`` error not
    under ``--pretend``.  *notes* (optional) receives the decision lines as
    they happen, so they survive an exception.  *password_command*, if
    given, runs ``passwordeval`` at msmtp's point (see ``finalize``).
    Raises ConfigError (exit 78).
    """
    notes = [] if notes is None else notes
    cmdline = command_line_account(overrides, host, envelope_from)
    if host is not None:
        account = cmdline
        notes.append("using account specified on command line")
    else:
        loaded = config if config is not None else LoadedConfig()
        account = choose_account(loaded, cmdline, account_name, env=env, sendmail=sendmail,
                                 notes=notes)
        apply_command_line(account, cmdline)
    finalize.complete(account, env=env, sendmail=sendmail, password_command=password_command)
    finalize.check(account, sendmail=sendmail, pretend=pretend)
    if account.name and account.conffile:
        notes.append(f"using account {account.name} from {account.conffile}")
    return Resolution(account, notes)
