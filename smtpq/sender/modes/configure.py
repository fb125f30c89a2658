"""``--configure=ADDR``: an account for ADDR from DNS SRV records (RFC 6186 §3.1, RFC 8314 §5.1).

msmtp's ``msmtp_configure`` (reference §3.5): ADDR is split at its last
``@``; an empty local part or domain is ``automatic configuration based on
SRV records failed: invalid mail address`` (65).  ``_submissions._tcp.DOMAIN``
(implicit TLS) is asked first, then ``_submission._tcp.DOMAIN`` (STARTTLS);
with neither, ``… failed: no SRV records for Q1 or Q2`` (68), whatever went
wrong (NXDOMAIN, no answer, timeout).  The account goes to stdout with the
hints of msmtp's key-ring build (smtpq reads the key ring too): the
``secret-tool store`` line, and a warning when the host is not inside the
mail domain.

DNS is a minimal stub resolver on the standard library: one SRV question
over UDP, TCP if the answer is truncated (RFC 1035 §4.2), to the first
``nameserver`` of ``/etc/resolv.conf`` (127.0.0.1 if none, as glibc) — or
``$SMTPQ_DNS_SERVER`` (``host:port``, ``[v6]:port``) for tests.  Of several
records the one with the lowest priority, then the highest weight wins
(RFC 2782); a target of ``.`` means the service is not offered.
"""

from __future__ import annotations

import dataclasses
import secrets
import socket
import struct
import sys
from collections.abc import Mapping
from typing import TextIO

from smtpq.sender.errors import SmtpqError
from smtpq.sender.options import CommandLine
from smtpq.sender.sysexits import ExitCode

RESOLV_CONF = "/etc/resolv.conf"
DNS_SERVER_ENV = "SMTPQ_DNS_SERVER"
TYPE_SRV = 33  # RFC 2782
CLASS_IN = 1
TIMEOUT = 5.0  # glibc's RES_TIMEOUT
ATTEMPTS = 2  # glibc's RES_DFLRETRY
FAILED = "automatic configuration based on SRV records failed: "


@dataclasses.dataclass(frozen=True)
class SrvRecord:
    priority: int
    weight: int
    port: int
    target: str  # without the final dot; "" for "."


class DnsError(Exception):
    """No usable answer (any reason: msmtp reports all of them alike)."""


# -- the mode ----------------------------------------------------------------------

def run_configure(cmd: CommandLine, *, env: Mapping[str, str], prog: str,
                  out: TextIO | None = None) -> int:
    """Print the account for ``cmd.configure``; return 0 or raise msmtp's error."""
    from smtpq.sender.config.paths import user_config_path

    out = out if out is not None else sys.stdout
    address = cmd.configure or ""
    local, _, domain = address.rpartition("@")
    if not local or not domain:  # also: no "@" at all
        raise SmtpqError(FAILED + "invalid mail address", exit_code=ExitCode.EX_DATAERR)
    server = dns_server(env)
    found = _first_service(domain, server)
    conffile = cmd.config_file if cmd.config_file is not None else user_config_path(env)
    out.write(account_text(address, local, domain, found, conffile))
    out.flush()
    return 0


def _first_service(domain: str, server: tuple[str, int]) -> tuple[SrvRecord, bool]:
    """The submission service and whether it is STARTTLS (RFC 8314 §5.1: implicit TLS first)."""
    queries = [f"_submissions._tcp.{domain}", f"_submission._tcp.{domain}"]
    for starttls, query in enumerate(queries):
        try:
            return best_record(query_srv(query, server)), bool(starttls)
        except DnsError:
            continue
    raise SmtpqError(f"{FAILED}no SRV records for {queries[0]} or {queries[1]}",
                     exit_code=ExitCode.EX_NOHOST)


def host_in_domain(host: str, domain: str) -> bool:
    """msmtp's ``check_hostname_matches_domain``: equal, or ending in ``.DOMAIN``."""
    host, domain = host.lower(), domain.lower()
    return bool(domain) and (host == domain or host.endswith("." + domain))


def account_text(address: str, local: str, domain: str, found: tuple[SrvRecord, bool],
                 conffile: str) -> str:
    record, starttls = found
    lines = [f"# - copy this to your configuration file {conffile}"]
    if not host_in_domain(record.target, domain):
        lines.append("# - warning: the host does not match the mail domain; please check")
    lines += [
        "# - add your password to the key ring:",
        f"#   secret-tool store --label=msmtp host {record.target} service smtp user {local}",
        f"account {address}", f"host {record.target}", f"port {record.port}", "tls on",
        f"tls_starttls {'on' if starttls else 'off'}", "auth on", f"user {local}",
        f"from {address}",
    ]
    return "".join(f"{line}\n" for line in lines)


# -- a stub resolver (RFC 1035) ----------------------------------------------------

def dns_server(env: Mapping[str, str]) -> tuple[str, int]:
    """``$SMTPQ_DNS_SERVER`` or the first ``nameserver`` of resolv.conf, port 53."""
    override = env.get(DNS_SERVER_ENV)
    if override:
        host, _, port = override.rpartition(":")
        return host.strip("[]") or "127.0.0.1", int(port) if port.isdigit() else 53
    try:
        with open(RESOLV_CONF, encoding="utf-8", errors="replace") as f:
            for line in f:
                words = line.split()
                if len(words) >= 2 and words[0] == "nameserver":
                    return words[1].split("%")[0], 53
    except OSError:
        pass
    return "127.0.0.1", 53


def best_record(records: list[SrvRecord]) -> SrvRecord:
    """RFC 2782: lowest priority, then highest weight; ``.`` is "not offered"."""
    if not records:
        raise DnsError("no SRV record")
    best = min(records, key=lambda r: (r.priority, -r.weight))
    if not best.target:
        raise DnsError("service not offered")
    return best


def encode_query(name: str, ident: int) -> bytes:
    """A recursive (RD) question for the SRV records of *name* (RFC 1035 §4.1)."""
    from smtpq.sender.protocol.dial import ascii_host

    labels = [label.encode("ascii", "replace") for label in ascii_host(name).split(".") if label]
    if any(len(label) > 63 for label in labels):
        raise DnsError("label too long")
    qname = b"".join(bytes([len(label)]) + label for label in labels) + b"\0"
    return struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0) + qname + struct.pack(
        "!HH", TYPE_SRV, CLASS_IN)


def query_srv(name: str, server: tuple[str, int], *, timeout: float | None = None,
              attempts: int | None = None) -> list[SrvRecord]:
    """The SRV records of *name*; :class:`DnsError` for NXDOMAIN, failures and timeouts."""
    timeout = TIMEOUT if timeout is None else timeout
    attempts = ATTEMPTS if attempts is None else attempts
    ident = secrets.randbelow(0x10000)
    query = encode_query(name, ident)
    answer = _ask_udp(query, server, timeout, attempts)
    if answer[2] & 0x02:  # TC: truncated, ask again over TCP
        answer = _ask_tcp(query, server, timeout)
    return parse_answer(answer, ident)


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _ask_udp(query: bytes, server: tuple[str, int], timeout: float, attempts: int) -> bytes:
    with socket.socket(_family(server[0]), socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        for _ in range(attempts):
            try:
                sock.sendto(query, server)
                while True:
                    data, _peer = sock.recvfrom(65535)
                    if data[:2] == query[:2] and len(data) >= 12:
                        return data
            except TimeoutError:
                continue
            except OSError as exc:
                raise DnsError(str(exc)) from None
    raise DnsError("timeout")


def _ask_tcp(query: bytes, server: tuple[str, int], timeout: float) -> bytes:
    try:
        with socket.create_connection(server, timeout=timeout) as sock:
            sock.sendall(struct.pack("!H", len(query)) + query)
            length = struct.unpack("!H", _recv_exactly(sock, 2))[0]
            return _recv_exactly(sock, length)
    except OSError as exc:
        raise DnsError(str(exc)) from None


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise DnsError("short answer")
        data += chunk
    return data


def parse_answer(message: bytes, ident: int) -> list[SrvRecord]:
    """The SRV records in the answer section of *message* (RFC 1035 §4.1, RFC 2782)."""
    try:
        ident_got, flags, qdcount, ancount = struct.unpack("!HHHH", message[:8])
        if ident_got != ident or not flags & 0x8000 or flags & 0x000F:  # not a reply / RCODE
            raise DnsError("bad reply")
        offset = 12
        for _ in range(qdcount):
            offset = _skip_name(message, offset) + 4
        records = []
        for _ in range(ancount):
            offset = _skip_name(message, offset)
            rtype, rclass, _ttl, length = struct.unpack("!HHIH", message[offset:offset + 10])
            offset += 10
            if rtype == TYPE_SRV and rclass == CLASS_IN:
                priority, weight, port = struct.unpack("!HHH", message[offset:offset + 6])
                records.append(SrvRecord(priority, weight, port,
                                         _read_name(message, offset + 6)))
            offset += length
        return records
    except (struct.error, IndexError, UnicodeDecodeError) as exc:
        raise DnsError("malformed reply") from exc


def _skip_name(message: bytes, offset: int) -> int:
    while True:
        length = message[offset]
        if length & 0xC0 == 0xC0:  # RFC 1035 §4.1.4 compression pointer
            return offset + 2
        offset += 1 + length
        if length == 0:
            return offset


def _read_name(message: bytes, offset: int) -> str:
    labels: list[str] = []
    for _ in range(128):  # bounded: pointer loops are malformed
        length = message[offset]
        if length & 0xC0 == 0xC0:
            offset = struct.unpack("!H", message[offset:offset + 2])[0] & 0x3FFF
            continue
        if length == 0:
            return ".".join(labels)
        labels.append(message[offset + 1:offset + 1 + length].decode("ascii"))
        offset += 1 + length
    raise DnsError("name too long")
