"""Fixtures for the delivery engine: a wire-recording server and mails to send.

* ``recorder(**options)`` — a started :class:`~tests.sender.differential.harness.WireRecorder`
  behind a scripted server; returns ``(recorder, account)``;
* ``mail(*recipients, body=…)`` — an :class:`OutgoingMail` from alice@example.org.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from smtpq.sender.config.settings import Account
from smtpq.sender.delivery.courier import OutgoingMail
from tests.sender.differential.harness import WireRecorder


@pytest.fixture
def recorder(scripted_server) -> Callable[..., tuple[WireRecorder, Account]]:
    def start(**options: Any) -> tuple[WireRecorder, Account]:
        recording = WireRecorder(**options)
        server = scripted_server(recording)
        return recording, Account(host="127.0.0.1", port=server.port, timeout=10,
                                  from_="alice@example.org")
    return start


def make_mail(*recipients: str, body: bytes = b"Subject: t\n\nhello\n") -> OutgoingMail:
    return OutgoingMail("alice@example.org", list(recipients or ("bob@example.net",)), [body])


@pytest.fixture
def mail() -> Callable[..., OutgoingMail]:
    return make_mail


def commands(connection: list[Any]) -> list[str]:
    """The command lines of one recorded connection (DATA content left out)."""
    return [x for x in connection if isinstance(x, str)]
