"""Fixtures for the AUTH tests: an aiosmtpd server speaking every SASL mechanism.

* ``sasl_server(**options)`` — a started :class:`SmtpServer` whose handler is a
  :class:`tests.support.sasl_handlers.SaslHandler` for ``USERS``/``TOKENS``;
  ``mechanisms=[...]`` limits what is announced; other options go to ``SmtpServer``.
* ``authenticate_to(server, **account)`` — open a real :class:`Session` to it and
  run :func:`smtpq.sender.auth.authenticate.authenticate`; returns the method and
  the debug transcript.
* ``no_password_sources`` — an empty HOME, no key ring, no ``/dev/tty``: only
  the account's own ``password``/``passwordeval`` count.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest

from smtpq.sender.auth import passwords, tty
from smtpq.sender.auth.authenticate import authenticate
from smtpq.sender.protocol.session import Session
from smtpq.sender.protocol.transcript import debug_printer
from tests.support.aiosmtpd_server import SmtpServer
from tests.support.sasl_handlers import SaslHandler

USERS = {"bob": "s3cret pass", "carol": "w0rd"}
TOKENS = {"bob": "ya29.token-for-bob"}
ALL_MECHANISMS = ("PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-1", "SCRAM-SHA-256", "DIGEST-MD5",
                  "OAUTHBEARER", "XOAUTH2", "EXTERNAL", "NTLM")


@pytest.fixture
def sasl_server(smtp_server) -> Callable[..., SmtpServer]:
    def make(*, mechanisms: tuple[str, ...] | list[str] = ALL_MECHANISMS,
             handler_options: dict[str, Any] | None = None, **options: Any) -> SmtpServer:
        handler = SaslHandler(USERS, tokens=TOKENS, **(handler_options or {}))
        excluded = [m for m in ALL_MECHANISMS if m not in mechanisms]
        options.setdefault("auth_require_tls", False)
        return smtp_server(handler=handler, credentials=USERS,
                           auth_exclude_mechanism=excluded, **options)
    return make


@pytest.fixture
def no_password_sources(tmp_path, monkeypatch) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    monkeypatch.setattr(passwords, "SYSTEM_NETRC", str(tmp_path / "no-system-netrc"))
    monkeypatch.setattr(tty, "TTY", str(tmp_path / "no-tty"))
    _reset_keyring()


def _reset_keyring() -> None:
    """Make ``keyring`` choose its backend again (it caches the first choice)."""
    import keyring.core

    keyring.core._keyring_backend = None  # noqa: SLF001 - keyring has no public reset


@pytest.fixture
def authenticate_to(no_password_sources) -> Callable[..., tuple[str, str]]:
    def run(server: SmtpServer, **account_settings: Any) -> tuple[str, str]:
        account = server.account(**account_settings)
        out = io.StringIO()
        with Session.open(account, transcript=debug_printer(out)) as session:
            method = authenticate(session, account)
        return method, out.getvalue()
    return run
