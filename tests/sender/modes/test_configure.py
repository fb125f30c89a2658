"""``--configure=ADDR`` against a fake DNS server (``SMTPQ_DNS_SERVER``), and the stub resolver."""

from __future__ import annotations

import io
import struct

import pytest

from smtpq.sender.errors import SmtpqError
from smtpq.sender.modes import configure
from smtpq.sender.modes.configure import DnsError, SrvRecord, best_record, parse_answer
from smtpq.sender.options import parse_args
from smtpq.sender.sysexits import ExitCode
from tests.sender.modes.fake_dns import FakeDns, encode_name

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


def run_configure(address: str, dns: FakeDns, *extra: str) -> str:
    out = io.StringIO()
    env = {"HOME": "/home/joe", configure.DNS_SERVER_ENV: dns.address}
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
    monkeypatch.setattr(configure, "TIMEOUT", 0.1)
    server = FakeDns(RECORDS, silent=True)
    try:
        with pytest.raises(SmtpqError) as caught:
            run_configure("joe@example.com", server)
        assert caught.value.exit_code == ExitCode.EX_NOHOST
        assert len(server.queries) == 2 * configure.ATTEMPTS
    finally:
        server.stop()


def test_the_resolver_comes_from_resolv_conf(tmp_path, monkeypatch):
    conf = tmp_path / "resolv.conf"
    conf.write_text("# comment\nsearch example\nnameserver 192.0.2.53\nnameserver 192.0.2.54\n")
    monkeypatch.setattr(configure, "RESOLV_CONF", str(conf))
    assert configure.dns_server({}) == ("192.0.2.53", 53)
    monkeypatch.setattr(configure, "RESOLV_CONF", str(tmp_path / "none"))
    assert configure.dns_server({}) == ("127.0.0.1", 53)
    assert configure.dns_server({"SMTPQ_DNS_SERVER": "[::1]:5353"}) == ("::1", 5353)


def test_lowest_priority_then_highest_weight_wins():
    records = [SrvRecord(20, 0, 1, "c"), SrvRecord(10, 1, 2, "b"), SrvRecord(10, 9, 3, "a")]
    assert best_record(records).target == "a"
    with pytest.raises(DnsError):
        best_record([])


def _reply(answer_rdata: bytes, *, ident: int = 7, rcode: int = 0) -> bytes:
    question = encode_name("_submission._tcp.x.example") + struct.pack("!HH", 33, 1)
    header = struct.pack("!HHHHHH", ident, 0x8180 | rcode, 1, 1, 0, 0)
    answer = struct.pack("!HHHIH", 0xC00C, 33, 1, 60, len(answer_rdata)) + answer_rdata
    return header + question + answer


def test_a_compressed_target_is_followed():
    # target "mail" + pointer to "x.example" inside the question name (offset 12 + 12 + 5)
    rdata = struct.pack("!HHH", 1, 2, 587) + b"\x04mail" + struct.pack("!H", 0xC000 | 29)
    assert parse_answer(_reply(rdata), 7) == [SrvRecord(1, 2, 587, "mail.x.example")]


@pytest.mark.parametrize("message", [
    b"", b"\x00\x07", _reply(b"\x00"), _reply(struct.pack("!HHH", 1, 2, 3) + b"\xc0\x0c" * 2)[:-9],
    _reply(struct.pack("!HHH", 1, 2, 3) + b"\xc0\x0c")[:40] + b"\xc0\x28",
])
def test_garbage_answers_are_dns_errors_not_crashes(message):
    try:
        parse_answer(message, 7)
    except DnsError:
        pass


def test_wrong_ident_and_error_codes_are_rejected():
    rdata = struct.pack("!HHH", 1, 2, 587) + encode_name("m.x.example")
    with pytest.raises(DnsError):
        parse_answer(_reply(rdata, ident=8), 7)
    with pytest.raises(DnsError):
        parse_answer(_reply(rdata, rcode=3), 7)
