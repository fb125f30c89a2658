"""Where the authentication password comes from, in msmtp 1.8.23's order.

1. the ``password`` setting; it wins over ``passwordeval`` whatever their order,
   and ``passwordeval`` is then not run at all (observed);
2. ``passwordeval``: run through ``/bin/sh`` *before connecting* whenever auth is
   on and no password is set (also under ``--pretend``); the first line of its
   standard output, one trailing LF and then one CR removed; exit status and
   standard error ignored; no output at all is ``cannot read output of 'CMD'``,
   EX_CONFIG (observed);
3. the key ring (:mod:`smtpq.sender.auth.keyring_source`);
4. ``~/.netrc``, then ``/etc/netrc`` (:mod:`smtpq.sender.auth.netrc`);
5. a prompt ``password for USER at HOST: `` on ``/dev/tty``, only if it opens.

Sources 3–5 are consulted only during AUTH, after the method is chosen, and never
for EXTERNAL or GSSAPI (observed with strace: D-Bus, ``~/.netrc``, ``/etc/netrc``,
``/dev/tty``, in that order).
"""

from __future__ import annotations

import os

from smtpq.sender.auth import netrc
from smtpq.sender.auth.sasl import PASSWORDLESS
from smtpq.sender.config.settings import Account
from smtpq.sender.errors import ConfigError

#: msmtp's SYSCONFDIR on Debian.
SYSTEM_NETRC = "/etc/netrc"


def obtain_password(account: Account, method: str, host: str | None = None) -> str | None:
    """The password for *method*, or None when no source has one.

    *host* is the name the password is stored under (default: ``account.host``).
    """
    if method in PASSWORDLESS:
        return None
    if account.password is not None:
        return account.password
    if account.passwordeval:
        return run_passwordeval(account.passwordeval)
    host = host if host is not None else account.host or ""
    user = account.user or ""
    from smtpq.sender.auth.keyring_source import keyring_password

    password = keyring_password(host, user)
    for path in (_user_netrc(), SYSTEM_NETRC):
        if password is None:
            password = netrc.lookup(path, host, user)
    if password is None:
        from smtpq.sender.auth.tty import prompt_password

        password = prompt_password(user, host)
    return password


def resolve_passwordeval(account: Account) -> None:
    """Run ``passwordeval`` as msmtp does before connecting and under ``--pretend``.

    Only when auth is on and no ``password`` is set; the result becomes
    ``account.password``.  Raises :class:`ConfigError` (EX_CONFIG) on no output.
    """
    if account.auth is None or account.password is not None or not account.passwordeval:
        return
    account.password = run_passwordeval(account.passwordeval)


def run_passwordeval(command: str) -> str:
    """The first line of *command*'s output (via ``/bin/sh -c``), line end removed."""
    import subprocess  # only passwordeval runs a command (≈ 4 ms with signal and threading)

    try:
        process = subprocess.Popen(
            ["/bin/sh", "-c", command], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        )
    except OSError as exc:
        raise ConfigError(f"cannot evaluate '{command}': {exc.strerror}") from None
    assert process.stdout is not None
    with process.stdout:
        line = process.stdout.readline()
    process.wait()  # as pclose(3); the exit status is ignored like msmtp does
    if not line:
        raise ConfigError(f"cannot read output of '{command}'")
    if line.endswith(b"\n"):
        line = line[:-1]
        if line.endswith(b"\r"):
            line = line[:-1]
    return line.decode("utf-8", "surrogateescape")


def _user_netrc() -> str:
    return os.path.join(os.path.expanduser("~"), ".netrc")
