"""``--configure=ADDR`` against fake DNS servers (``SMTPQ_DNS_SERVER``), and its resolver's set-up."""

from __future__ import annotations

import io

import pytest

from smtpq.sender.errors import DnsError, SmtpqError
from smtpq.sender.modes import configure
from smtpq.sender.modes.configure import SrvRecord, best_record
from smtpq.sender.options import parse_args
from smtpq.sender.sysexits import ExitCode
from tests.sender.modes.fake_dns import FakeDns

RECORDS = {
    "_submissions._tcp.example.com": [(0, 1, 465, "mail.example.com")],
    "_submission._tcp.other.example": [(0, 1, 587, "smtp.provider.example")],
    "_submissions._tcp.dot.example": [(0, 0, 0, ".")],
}


@pytest.fixture
def dns():
    server = FakeDns(RECORDS)
    yield server
    server.stop()


def run_configure(address: str, dns: FakeDns, *extra: str, servers: str | None = None) -> str:
    out = io.StringIO()
    env = {"HOME": "/home/joe", configure.DNS_SERVER_ENV: servers or dns.address}
    assert configure.run_configure(parse_args([*extra, f"--configure={address}"]), env=env,
                                   prog="p", out=out) == 0
    return out.getvalue()


def test_implicit_tls_service_found_first(dns):
    assert run_configure("joe@example.com", dns) == (
        "# - copy this to your configuration file /home/joe/.msmtprc\n"
        "# - add your password to the key ring:\n"
        "#   secret-tool store --label=msmtp host mail.example.com service smtp user joe\n"
        "account joe@example.com\nhost mail.example.com\nport 465\ntls on\n"
        "tls_starttls off\nauth on\nuser joe\nfrom joe@example.com\n")
    assert dns.queries == ["_submissions._tcp.example.com"]


def test_starttls_service_and_a_foreign_host(dns):
    text = run_configure("bob@other.example", dns, "-C", "my/rc")
    assert text.splitlines()[:2] == [
        "# - copy this to your configuration file my/rc",
        "# - warning: the host does not match the mail domain; please check"]
    assert "port 587\ntls on\ntls_starttls on\n" in text
    assert dns.queries == ["_submissions._tcp.other.example", "_submission._tcp.other.example"]


@pytest.mark.parametrize("address", ["joe@none.example", "x@dot.example"])
def test_no_usable_records(dns, address):
    domain = address.split("@")[1]
    with pytest.raises(SmtpqError) as caught:
        run_configure(address, dns)
    assert caught.value.message == (
        "automatic configuration based on SRV records failed: no SRV records for "
        f"_submissions._tcp.{domain} or _submission._tcp.{domain}")
    assert caught.value.exit_code == ExitCode.EX_NOHOST


@pytest.mark.parametrize("address", ["joe", "@example.com", "joe@"])
def test_invalid_addresses(dns, address):
    with pytest.raises(SmtpqError) as caught:
        run_configure(address, dns)
    assert caught.value.exit_code == ExitCode.EX_DATAERR
    assert caught.value.message.endswith("failed: invalid mail address")
    assert dns.queries == []


def test_a_truncated_answer_is_asked_again_over_tcp():
    server = FakeDns(RECORDS, truncate=True)
    try:
        assert "host mail.example.com\n" in run_configure("joe@example.com", server)
        assert server.queries == ["_submissions._tcp.example.com",
                                  "tcp:_submissions._tcp.example.com"]
    finally:
        server.stop()


def test_a_silent_server_times_out(monkeypatch):
    monkeypatch.setattr(configure, "TIMEOUT", 0.5)  # not 5 s for each of the 4 tries
    server = FakeDns(RECORDS, silent=True)
    try:
        with pytest.raises(SmtpqError) as caught:
            run_configure("joe@example.com", server)
        assert caught.value.exit_code == ExitCode.EX_NOHOST
        assert len(server.queries) == 2 * configure.ATTEMPTS
    finally:
        server.stop()


def test_a_broken_nameserver_is_passed_over_for_the_next(dns):
    broken = FakeDns(RECORDS, servfail=True)
    try:
        text = run_configure("joe@example.com", dns, servers=f"{broken.address},{dns.address}")
        assert "host mail.example.com\nport 465\n" in text
        assert broken.queries == ["_submissions._tcp.example.com"]
        assert dns.queries == ["_submissions._tcp.example.com"]
    finally:
        broken.stop()


def _servers(resolver) -> list[tuple[str, int]]:
    """Each nameserver's address and port (dnspython keeps a bare address as it was given)."""
    return [(server, resolver.port) if isinstance(server, str) else (server.address, server.port)
            for server in resolver.nameservers]


def test_the_resolver_comes_from_resolv_conf(tmp_path, monkeypatch):
    conf = tmp_path / "resolv.conf"
    conf.write_text("# comment\nsearch example\nnameserver 192.0.2.53\nnameserver 192.0.2.54\n")
    monkeypatch.setattr(configure, "RESOLV_CONF", str(conf))
    resolver = configure.dns_resolver({})
    assert _servers(resolver) == [("192.0.2.53", 53), ("192.0.2.54", 53)]
    assert resolver.timeout == 5.0  # glibc's: 5 s a try, 2 tries of each server
    assert resolver.lifetime == 5.0 * 2 * 2 + configure.ROUND_PAUSE


def test_resolv_conf_options_are_honoured(tmp_path, monkeypatch):
    conf = tmp_path / "resolv.conf"
    conf.write_text("nameserver 192.0.2.53\noptions timeout:3 rotate\n")
    monkeypatch.setattr(configure, "RESOLV_CONF", str(conf))
    resolver = configure.dns_resolver({})
    assert (resolver.timeout, resolver.lifetime, resolver.rotate) == (3, 3 * 2 + 0.1, True)


def test_without_a_nameserver_the_local_one_is_asked(tmp_path, monkeypatch):
    monkeypatch.setattr(configure, "RESOLV_CONF", str(tmp_path / "none"))
    assert _servers(configure.dns_resolver({})) == [("127.0.0.1", 53)]
    (tmp_path / "none").write_text("search example\n")
    assert _servers(configure.dns_resolver({})) == [("127.0.0.1", 53)]


def test_the_test_hook_names_the_servers():
    resolver = configure.dns_resolver({"SMTPQ_DNS_SERVER": "[::1]:5353,127.0.0.2:53"})
    assert _servers(resolver) == [("::1", 5353), ("127.0.0.2", 53)]


def test_lowest_priority_then_highest_weight_wins():
    records = [SrvRecord(20, 0, 1, "c"), SrvRecord(10, 1, 2, "b"), SrvRecord(10, 9, 3, "a")]
    assert best_record(records).target == "a"
    with pytest.raises(DnsError):
        best_record([])
