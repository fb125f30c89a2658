"""Fixtures shared by every test: real servers on 127.0.0.1 (see ``tests/support``).

* ``tls_material`` — trustme CA (``.ca_file``) and certificates (session-wide).
* ``smtp_server(**options)`` — a started aiosmtpd server
  (:class:`tests.support.aiosmtpd_server.SmtpServer`); ``.account()`` reaches it.
* ``smtp_sink(**options)`` — a started Postfix ``smtp-sink``
  (:class:`tests.support.sink.SmtpSink`); skips when smtp-sink is missing.
* ``scripted_server(script)`` — a raw scripted peer
  (:class:`tests.support.scripted.ScriptedServer`).
* ``socks5_proxy(**options)`` — an in-process SOCKS5 proxy
  (:class:`tests.support.socks5.Socks5Proxy`).

Every server is stopped when the test ends.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest

# Make ``tests.support`` importable however pytest was started.
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from tests.support.aiosmtpd_server import SmtpServer  # noqa: E402
from tests.support.certs import TlsMaterial  # noqa: E402
from tests.support.faults import FaultServer  # noqa: E402
from tests.support.programs import needs  # noqa: E402
from tests.support.scripted import Script, ScriptedServer  # noqa: E402
from tests.support.sink import SmtpSink  # noqa: E402
from tests.support.socks5 import Socks5Proxy  # noqa: E402


@pytest.fixture(scope="session")
def tls_material(tmp_path_factory: pytest.TempPathFactory) -> TlsMaterial:
    return TlsMaterial(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def smtp_server(tls_material: TlsMaterial) -> Iterator[Callable[..., SmtpServer]]:
    servers: list[SmtpServer] = []

    def make(**options: Any) -> SmtpServer:
        server = SmtpServer(tls_material, **options).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def smtp_sink(tmp_path: Any) -> Iterator[Callable[..., SmtpSink]]:
    needs(SmtpSink.available(), "needs smtp-sink (Debian package postfix)")
    sinks: list[SmtpSink] = []

    def make(**options: Any) -> SmtpSink:
        sink = SmtpSink(tmp_path / f"sink{len(sinks)}", **options).start()
        sinks.append(sink)
        return sink

    yield make
    for sink in sinks:
        sink.stop()


@pytest.fixture
def scripted_server() -> Iterator[Callable[..., ScriptedServer]]:
    servers: list[ScriptedServer] = []

    def make(script: Script, **options: Any) -> ScriptedServer:
        server = ScriptedServer(script, **options)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def fault_server(tls_material: TlsMaterial) -> Iterator[Callable[..., FaultServer]]:
    """A ``FaultServer`` (no STARTTLS unless asked) armed with one fault, *step* and
    *fault*; stopped, and so un-stalled, when the test ends."""
    made: list[FaultServer] = []

    def start(step: str, fault: str, **options: Any) -> FaultServer:
        server = FaultServer(tls_material, **{"offer_starttls": False, **options})
        server.inject(step, fault)
        made.append(server)
        return server

    yield start
    for server in made:
        server.stop()


@pytest.fixture
def socks5_proxy() -> Iterator[Callable[..., Socks5Proxy]]:
    proxies: list[Socks5Proxy] = []

    def make(**options: Any) -> Socks5Proxy:
        proxy = Socks5Proxy(**options)
        proxies.append(proxy)
        return proxy

    yield make
    for proxy in proxies:
        proxy.stop()
