"""Re-routing queued mail through another account (``smtpq retry … --account NAME``).

A message stores the account chosen at enqueue time and the command line's
settings as a canonical argv (``smtpq.sender.options.canonical``), re-applied
at flush time (``smtpq.queue.flush.routes``).  Re-routing makes the message as if it
had been sent with ``-a NAME`` in place of its own ``-a``/``--host``: the stored
account becomes NAME, the stored ``--account=``/``--host=`` option is dropped
(the account is then taken from the stored account, as the flush does), and
every other stored setting (``--port``, ``--tls`` …) stays, as msmtp would
apply them on top of NAME.

Before anything changes, the new route of every message is resolved exactly as
the flush will resolve it, against the configuration in force now: an account
that does not exist fails with msmtp's own error (``account NAME not found``,
EX_CONFIG) and no message is touched.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from smtpq.queue.flush.routes import RouteKey, resolve_route
from smtpq.queue.records import MessageDetail, Route

#: Stored options that name the server or account (replaced by the new account).
_ROUTE_OPTIONS = ("--account=", "--host=")


def new_route(detail: MessageDetail, account: str) -> Route:
    """Where *detail* goes when re-routed through *account*."""
    options = tuple(option for option in detail.options if not option.startswith(_ROUTE_OPTIONS))
    return Route(account, options)


def plan(details: Iterable[MessageDetail], account: str,
         env: Mapping[str, str]) -> dict[int, Route]:
    """The new route of each message, each checked by resolving it as the flush will.

    Raises the resolution's error (``ConfigError`` for an unknown account, as
    msmtp's ``account NAME not found``) for the first route that does not resolve.
    """
    routes: dict[int, Route] = {}
    checked: set[tuple[RouteKey, str]] = set()
    for detail in details:
        route = routes[detail.id] = new_route(detail, account)
        key = RouteKey(route.account, detail.config_file, route.options)
        if (key, detail.envelope_from) not in checked:
            resolve_route(key, detail.envelope_from, env)
            checked.add((key, detail.envelope_from))
    return routes
