"""Reaching the server: TCP, IPv6, source address, Unix socket, SOCKS5, timeouts.

Failures carry msmtp's texts and exit codes.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest

from smtpq.sender.config.settings import Account
from smtpq.sender.errors import DeliveryError
from smtpq.sender.protocol.dial import ascii_host
from smtpq.sender.protocol.session import Session
from smtpq.sender.protocol.transaction import run_transaction
from smtpq.sender.sysexits import ExitCode
from tests.support.aiosmtpd_server import free_port
from tests.support.programs import needs
from tests.support.scripted import smtp_dialogue


def fails(account: Account) -> DeliveryError:
    with pytest.raises(DeliveryError) as caught:
        Session.open(account)
    return caught.value


def test_connection_refused_is_a_temporary_failure():
    port = free_port()
    error = fails(Account(host="127.0.0.1", port=port))
    assert error.message == f"cannot connect to 127.0.0.1, port {port}: Connection refused"
    assert error.exit_code == ExitCode.EX_TEMPFAIL


def test_an_unknown_host_is_ex_nohost():
    error = fails(Account(host="no-such-host.invalid", port=25))
    assert error.message.startswith("cannot locate host no-such-host.invalid: ")
    assert error.exit_code == ExitCode.EX_NOHOST


def test_a_silent_server_times_out_with_ex_ioerr(scripted_server):
    server = scripted_server(lambda peer: time.sleep(3))
    started = time.monotonic()
    error = fails(Account(host="127.0.0.1", port=server.port, timeout=1))
    assert error.message == "network read error: the operation timed out"
    assert error.exit_code == ExitCode.EX_IOERR
    assert time.monotonic() - started < 2.5


def test_the_timeout_applies_to_every_read_not_only_the_first(scripted_server):
    def stall_after_ehlo(peer):
        peer.send("220 hi")
        peer.line()
        time.sleep(3)

    server = scripted_server(stall_after_ehlo)
    error = fails(Account(host="127.0.0.1", port=server.port, timeout=1))
    assert error.message == "network read error: the operation timed out"


def test_a_hang_up_mid_session_is_an_empty_reply(scripted_server):
    def hang_up(peer):
        peer.send("220 hi")
        peer.line()

    server = scripted_server(hang_up)
    error = fails(Account(host="127.0.0.1", port=server.port, timeout=5))
    assert error.message == "the server sent an empty reply"
    assert error.exit_code == ExitCode.EX_PROTOCOL


def test_the_session_uses_tcp_nodelay(smtp_server):
    server = smtp_server()
    with Session.open(server.account()) as session:
        sock = session.connection.sock
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)


def _has_ipv6() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


def test_ipv6_literal_hosts_work(scripted_server):
    needs(_has_ipv6(), "needs an IPv6 loopback (::1)")
    server = scripted_server(smtp_dialogue, host="::1", family=socket.AF_INET6)
    with Session.open(Account(host="::1", port=server.port, timeout=5)) as session:
        assert session.connection.endpoint.numeric_address() == "::1"


def test_source_ip_binds_the_local_end(scripted_server):
    server = scripted_server(smtp_dialogue)
    with Session.open(Account(host="127.0.0.1", port=server.port, source_ip="127.0.0.1",
                              timeout=5)) as session:
        assert session.connection.sock.getsockname()[0] == "127.0.0.1"


def test_a_source_ip_that_is_no_address_is_ex_oserr(scripted_server):
    server = scripted_server(smtp_dialogue)
    error = fails(Account(host="127.0.0.1", port=server.port, source_ip="nonsense"))
    assert error.message == "cannot bind source ip nonsense: Invalid argument"
    assert error.exit_code == ExitCode.EX_OSERR


def test_a_source_ip_not_on_this_machine_is_ex_oserr(scripted_server):
    server = scripted_server(smtp_dialogue)
    error = fails(Account(host="127.0.0.1", port=server.port, source_ip="192.0.2.77"))
    assert error.message == "cannot bind source ip 192.0.2.77: Cannot assign requested address"
    assert error.exit_code == ExitCode.EX_OSERR


def test_international_host_names_are_encoded_for_dns():
    assert ascii_host("bücher.example") == "xn--bcher-kva.example"
    assert ascii_host("mail.example.org") == "mail.example.org"


def test_unix_socket_overrides_host_and_port(tmp_path):
    path = str(tmp_path / "smtp.sock")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(path)
    listener.listen(1)

    def serve():
        conn, _ = listener.accept()
        from tests.support.scripted import Peer
        smtp_dialogue(Peer(conn))
        conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    account = Account(host="no-such-host.invalid", port=1, socket=path, timeout=5,
                      proxy_host="no-such-proxy.invalid")
    with Session.open(account) as session:
        assert session.greeting.code == 220
        assert session.server_host == "no-such-host.invalid"
    thread.join(5)
    listener.close()


def test_a_missing_unix_socket_is_a_temporary_failure(tmp_path):
    error = fails(Account(socket=str(tmp_path / "nope.sock")))
    assert error.message == f"cannot connect to {tmp_path / 'nope.sock'}: No such file or directory"
    assert error.exit_code == ExitCode.EX_TEMPFAIL


def test_socks5_proxy_resolves_the_server_name(scripted_server, socks5_proxy):
    server = scripted_server(smtp_dialogue)
    proxy = socks5_proxy(aliases={"mail.test": "127.0.0.1"})
    account = Account(host="mail.test", port=server.port, proxy_host="127.0.0.1",
                      proxy_port=proxy.port, timeout=5)
    with Session.open(account) as session:
        assert session.greeting.code == 220
    assert proxy.requests == [("mail.test", server.port)]


@pytest.mark.parametrize(("code", "text"), [
    (1, "general server failure"), (2, "connection not allowed"), (3, "network unreachable"),
    (4, "host unreachable"), (5, "connection refused"), (6, "time-to-live expired"),
    (7, "command not supported"), (8, "address type not supported"),
])
def test_socks5_failures_are_proxy_failures(socks5_proxy, code, text):
    proxy = socks5_proxy(reply_code=code)
    error = fails(Account(host="mail.test", port=25, proxy_host="127.0.0.1",
                          proxy_port=proxy.port, timeout=5))
    assert error.message == f"proxy failure: {text}"
    assert error.exit_code == ExitCode.EX_UNAVAILABLE


def test_an_unreachable_proxy_is_a_connect_failure():
    port = free_port()
    error = fails(Account(host="mail.test", port=25, proxy_host="127.0.0.1", proxy_port=port))
    assert error.message == f"cannot connect to 127.0.0.1, port {port}: Connection refused"
    assert error.exit_code == ExitCode.EX_TEMPFAIL


def test_an_unknown_proxy_host_is_ex_nohost():
    error = fails(Account(host="mail.test", port=25, proxy_host="no-such-proxy.invalid"))
    assert error.message.startswith("cannot locate host no-such-proxy.invalid: ")
    assert error.exit_code == ExitCode.EX_NOHOST


def test_a_server_hanging_up_during_data_is_a_write_error(scripted_server):
    def script(peer):
        peer.send("220 hi")
        peer.line()
        peer.send("250-x", "250 PIPELINING")
        for _ in range(3):
            peer.line()
        peer.send("250 ok", "250 ok", "354 go")
        peer.sock.shutdown(socket.SHUT_RDWR)

    server = scripted_server(script)
    chunks = [b"x" * 1_000_000] * 20
    with Session.open(Account(host="127.0.0.1", port=server.port, timeout=5)) as session:
        with pytest.raises(DeliveryError) as caught:
            run_transaction(session, "a@example.org", ["t@example.net"], chunks)
    assert caught.value.message.startswith("network write error: ")
    assert caught.value.exit_code == ExitCode.EX_IOERR


def test_an_unknown_international_host_keeps_its_unicode_name_in_the_error():
    error = fails(Account(host="bücher.invalid", port=25))
    assert error.message.startswith("cannot locate host bücher.invalid: ")
