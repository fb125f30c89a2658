"""Which account, with which settings, delivers a stored message (resolved at flush time).

A message stores the account chosen at enqueue time, the ``-C`` file and the
command line's settings as a canonical argv (``smtpq.sender.options.canonical``).
At flush time they are applied to the configuration *then* in force, exactly as
msmtp would have applied them: a fixed password or server in ``~/.msmtprc``
takes effect for mail already queued.  Messages with the same route share one
connection.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from smtpq.queue.records import ClaimedMessage
from smtpq.sender.config.choose import resolve_account
from smtpq.sender.config.files import load_config
from smtpq.sender.config.settings import Account
from smtpq.sender.options import parse_args


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
    """The finished account for *key* (raises ConfigError/InputError as msmtp would)."""
    from smtpq.sender.auth.passwords import run_passwordeval

    cmd = parse_args(list(key.options), environ=env)
    config_file = key.config_file if key.config_file is not None else cmd.config_file
    config = None if cmd.host is not None else load_config(config_file, env=env)
    resolution = resolve_account(
        config, account_name=key.account or cmd.account_name, host=cmd.host,
        envelope_from=envelope_from, overrides=cmd.overrides, env=env, sendmail=True,
        password_command=run_passwordeval)
    return resolution.account
