"""Completing and checking the chosen account, in msmtp 1.8.23's order (``main`` after the choice).

1. ``passwordeval`` runs when ``auth`` is on and no ``password`` is set — only
   if the caller passes a runner (msmtp does it here, even under ``--pretend``,
   so its failure hides every later error; verified);
2. ``port`` 0 becomes 465 (``tls`` on, ``tls_starttls`` off) or 25; LMTP has
   no default;
3. ``tls_trust_file`` becomes ``system`` unless it was ever set explicitly;
4. ``proxy_port`` 0 becomes 1080 when a ``proxy_host`` is set;
5. ``%`` substitutions in ``domain``, then (sendmail mode) in ``from``;
6. (sendmail mode) ``auto_from on`` replaces ``from``;
7. the checks, first failure wins: host (or socket) set, port set, (sendmail
   mode, not ``--pretend``) ``from`` set, key file ⇔ cert file, TLS needs a
   trust file, fingerprint or disabled checks, CRL file needs a trust file.
   Messages carry ``account NAME from FILE: `` for file accounts.
"""

from __future__ import annotations

from smtpq.sender.config.settings import Protocol
from smtpq.sender.errors import ConfigError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (import cost)
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from smtpq.sender.config.settings import Account

    #: Turns a ``passwordeval`` command into the password (raising ConfigError on failure).
    PasswordCommand = Callable[[str], str]

TLS_NEEDS_TRUST = (
    "tls requires either tls_trust_file (highly recommended) or tls_fingerprint "
    "or a disabled tls_certcheck"
)


def complete(
    account: Account,
    *,
    env: Mapping[str, str],
    sendmail: bool,
    password_command: PasswordCommand | None = None,
) -> None:
    """Steps 1–6: fill in defaults and substitutions on *account* in place."""
    if (password_command is not None and account.auth is not None
            and account.password is None and account.passwordeval is not None):
        account.password = password_command(account.passwordeval)
    if account.port == 0 and account.protocol == Protocol.SMTP:
        account.port = 465 if account.tls and not account.tls_starttls else 25
    if account.tls_trust_file is None and "tls_trust_file" not in account.explicit:
        account.tls_trust_file = "system"
    if account.proxy_host is not None and account.proxy_port == 0:
        account.proxy_port = 1080
    # Every pattern starts with "%": without one (or auto_from) there is nothing to do.
    if "%" in account.domain or (sendmail and (
            account.auto_from or (account.from_ is not None and "%" in account.from_))):
        _substitute(account, env=env, sendmail=sendmail)


def _substitute(account: Account, *, env: Mapping[str, str], sendmail: bool) -> None:
    """Steps 5–6; ``substitute`` (with its socket lookups) is imported only when needed."""
    from smtpq.sender.config import substitute

    account.domain = substitute.expand_domain(account.domain, env)
    if sendmail and account.from_ is not None:
        account.from_ = substitute.expand_from(account.from_, env)
    if sendmail and account.auto_from:
        account.from_ = substitute.auto_from_address(account.maildomain, env)


def problem(account: Account, *, check_from: bool) -> str | None:
    """Step 7: msmtp's ``check_account`` message for *account*, or None if it is usable."""
    if account.host is None and account.socket is None:
        return "host not set"
    if account.port == 0:
        return "port not set"
    if check_from and account.from_ is None:
        return "envelope-from address is missing"
    if account.tls_key_file is not None and account.tls_cert_file is None:
        return "tls_key_file requires tls_cert_file"
    if account.tls_key_file is None and account.tls_cert_file is not None:
        return "tls_cert_file requires tls_key_file"
    if (account.tls and account.tls_trust_file is None and account.tls_fingerprint is None
            and account.tls_certcheck):
        return TLS_NEEDS_TRUST
    if account.tls_crl_file is not None and account.tls_trust_file is None:
        return "tls_crl_file requires tls_trust_file"
    return None


def check(account: Account, *, sendmail: bool, pretend: bool) -> None:
    """Raise ConfigError (78) with msmtp's wording if *account* cannot be used."""
    text = problem(account, check_from=sendmail and not pretend)
    if text is None:
        return
    if account.name and account.conffile:
        text = f"account {account.name} from {account.conffile}: {text}"
    raise ConfigError(text)
