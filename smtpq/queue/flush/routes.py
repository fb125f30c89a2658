"""Which account, with which settings, delivers a stored message (resolved at flush time).

A message stores the account chosen at enqueue time, the ``-C`` file and the
command line's settings as a canonical argv (``smtpq.sender.options.canonical``).
At flush time they are applied to the configuration *then* in force, exactly as
msmtp would have applied them: a fixed password or server in ``~/.msmtprc``
takes effect for mail already queued.  Messages with the same route share one
connection (``RouteCouriers``), for the whole flush.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping

from smtpq.queue.records import ClaimedMessage
from smtpq.sender.config.choose import resolve_account
from smtpq.sender.config.files import load_config
from smtpq.sender.config.settings import Account
from smtpq.sender.delivery.courier import Courier
from smtpq.sender.options import parse_args
from smtpq.sender.protocol.deadlines import StageLimits


@dataclasses.dataclass(frozen=True)
class RouteKey:
    """Messages with equal keys are sent through one connection."""

    account: str
    config_file: str | None
    options: tuple[str, ...]

    @classmethod
    def of(cls, message: ClaimedMessage) -> RouteKey:
        return cls(message.account, message.config_file, message.options)


def resolve_route(key: RouteKey, envelope_from: str, env: Mapping[str, str]) -> Account:
    """The finished account for *key* (raises ConfigError/InputError as msmtp would).

    Unlike msmtp (and ``--send-now``), ``passwordeval`` is not run here: the
    AUTH step asks for the password once the server wants it
    (``smtpq.sender.auth.passwords.obtain_password``), so a flush that finds
    the server unreachable, or a server without AUTH, never runs it (nor a
    keyring or a prompt), and the account remembers it for the rest of the flush.
    """
    cmd = parse_args(list(key.options), environ=env)
    config_file = key.config_file if key.config_file is not None else cmd.config_file
    config = None if cmd.host is not None else load_config(config_file, env=env)
    resolution = resolve_account(
        config, account_name=key.account or cmd.account_name, host=cmd.host,
        envelope_from=envelope_from, overrides=cmd.overrides, env=env, sendmail=True)
    account = resolution.account
    account.remember_password = True  # asked once per route and flush, at AUTH
    return account


class RouteCouriers:
    """For one drain of the queue: the resolved account of each route, and its open
    connection (``Courier``), kept across claim batches.

    Resolving a route reads the configuration, so it is done once per route and
    sender, not per batch; a failure is not kept.  The password is obtained at
    the first AUTH of the route and kept on its account for the flush.
    A courier is replaced when its route now resolves to another account.
    ``before_quit`` runs before a connection is closed with QUIT (the caller
    commits its verdicts: a server that saw QUIT has an answer for every mail).
    Every connection gets the flush's stage deadlines, ``limits``.
    """

    def __init__(self, env: Mapping[str, str], on_idle: Callable[[], None] | None = None,
                 before_quit: Callable[[], None] = lambda: None,
                 accounts: dict[tuple[RouteKey, str], Account] | None = None,
                 limits: StageLimits | None = None) -> None:
        self.env, self.on_idle, self.before_quit = env, on_idle, before_quit
        self.limits = limits
        # Shared by the drains of one flush when given (``Rounds.accounts``).
        self._accounts: dict[tuple[RouteKey, str], Account] = {} if accounts is None else accounts
        self._couriers: dict[RouteKey, Courier] = {}

    def account(self, key: RouteKey, envelope_from: str) -> Account:
        """The account of *key* for mail from *envelope_from* (raises as ``resolve_route``)."""
        found = self._accounts.get((key, envelope_from))
        if found is None:
            found = self._accounts[(key, envelope_from)] = resolve_route(key, envelope_from,
                                                                         self.env)
        return found

    def courier(self, key: RouteKey, account: Account) -> Courier:
        """The route's courier, for *account* (connected or not)."""
        courier = self._couriers.get(key)
        if courier is not None and courier.account is not account:
            self.before_quit()  # a QUIT ends what the server took: record it first
            courier.close(quit=courier.connected)
            courier = None
        if courier is None:
            courier = self._couriers[key] = Courier(account, on_idle=self.on_idle,
                                                    limits=self.limits)
        return courier

    def close(self) -> None:
        """QUIT every open connection (RFC 5321 §4.1.1.10)."""
        couriers, self._couriers = list(self._couriers.values()), {}
        try:
            self.before_quit()
        finally:
            for courier in couriers:
                courier.close(quit=courier.connected)
