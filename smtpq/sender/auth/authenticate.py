"""SMTP AUTH for one account on a connected session: choose, check, obtain, exchange.

The steps and their failures follow msmtp 1.8.23 (observed), all before any
AUTH byte is sent except the exchange itself:

0. ``auth gssapi`` without the ``gssapi`` module (the ``kerberos`` extra):
   ``support for authentication method GSSAPI is not compiled in``,
   EX_UNAVAILABLE (msmtp's text for a method its build lacks, checked before
   the server's offer), with how to install it;
1. method choice (:mod:`~smtpq.sender.auth.choice`), EX_UNAVAILABLE;
2. every method but EXTERNAL needs a user:
   ``authentication method X needs a user name``, EX_UNAVAILABLE;
3. every method but EXTERNAL and GSSAPI needs a password
   (:mod:`~smtpq.sender.auth.passwords`):
   ``authentication method X needs a password``, EX_UNAVAILABLE;
4. the SASL exchange (:mod:`~smtpq.sender.auth.exchange`).
"""

from __future__ import annotations

from smtpq.sender.auth.choice import choose_method
from smtpq.sender.auth.exchange import run_exchange
from smtpq.sender.auth.passwords import obtain_password
from smtpq.sender.auth.sasl import PASSWORDLESS, USERLESS, Credentials, create_mechanism
from smtpq.sender.errors import DeliveryError
from smtpq.sender.sysexits import ExitCode

# typing.TYPE_CHECKING without importing typing (import cost); AuthChannel is a
# typing.Protocol, a type only.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from smtpq.sender.auth.channel import AuthChannel
    from smtpq.sender.config.settings import Account


def authenticate(channel: AuthChannel, account: Account) -> str:
    """Authenticate *channel* as *account* (whose ``auth`` is on); return the method used."""
    if account.auth is None:
        raise ValueError("authenticate() called with auth off")
    if account.auth.upper() == "GSSAPI":
        _require_gssapi()
    method = choose_method(account.auth, channel.auth_methods, channel.tls_active)
    if method not in USERLESS and account.user is None:
        raise _unavailable(f"authentication method {method} needs a user name")
    host = account.host or channel.server_host
    password = obtain_password(account, method, host)
    if password is None and method not in PASSWORDLESS:
        raise _unavailable(f"authentication method {method} needs a password")
    _add_secret(channel, password)
    if account.remember_password and account.password is None:
        account.password = password  # the next connection asks no one again
    credentials = Credentials(
        user=account.user, password=password, host=host,
        port=_port(channel, account), ntlmdomain=account.ntlmdomain,
    )
    run_exchange(channel, create_mechanism(method, credentials))
    return method


def _add_secret(channel: AuthChannel, password: str | None) -> None:
    """Let the session blank the password or token from whatever the server says."""
    add = getattr(channel, "add_secret", None)  # a channel without it has no replies to keep
    if add is not None:
        add(password)


def _port(channel: AuthChannel, account: Account) -> int:
    """The TCP port for OAUTHBEARER: the channel's if it tells, else the account's."""
    port = getattr(channel, "server_port", 0)
    if port:
        return int(port)
    return account.effective_port() if account.host and not account.socket else 0


def _require_gssapi() -> None:
    """GSSAPI only with the ``gssapi`` module; otherwise say how to get it."""
    from smtpq.sender.auth.sasl.gss import GSSAPI_UNSUPPORTED, gssapi_available

    if not gssapi_available():
        raise _unavailable(GSSAPI_UNSUPPORTED)


def _unavailable(message: str) -> DeliveryError:
    return DeliveryError(message, exit_code=ExitCode.EX_UNAVAILABLE)
