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

DNS is dnspython's resolver, set up from ``/etc/resolv.conf`` (every
``nameserver`` in turn, its ``timeout``, ``rotate`` and ``edns0`` options;
127.0.0.1 if it names none, as glibc) with glibc's defaults: 5 s per try, 2
tries of each server; ``$SMTPQ_DNS_SERVER`` (``host:port``, ``[v6]:port``,
comma-separated) names the servers to ask instead, for tests.  A name is asked as given,
without the ``search`` list (msmtp's ``res_query``).  Of several records the
one with the lowest priority, then the highest weight wins (RFC 2782); a
target of ``.`` means the service is not offered.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, TextIO

from smtpq.sender.errors import DnsError, SmtpqError
from smtpq.sender.options import CommandLine
from smtpq.sender.sysexits import ExitCode

if TYPE_CHECKING:
    import dns.nameserver
    import dns.resolver

RESOLV_CONF = "/etc/resolv.conf"
DNS_SERVER_ENV = "SMTPQ_DNS_SERVER"
TIMEOUT = 5.0  # glibc's RES_TIMEOUT, unless resolv.conf says "options timeout:N"
ATTEMPTS = 2  # glibc's RES_DFLRETRY: tries of each nameserver
ROUND_PAUSE = 0.1  # dnspython's pause before its second round over the nameservers
FAILED = "automatic configuration based on SRV records failed: "


@dataclasses.dataclass(frozen=True)
class SrvRecord:
    priority: int
    weight: int
    port: int
    target: str  # without the final dot; "" for "."


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
    found = _first_service(domain, dns_resolver(env))
    conffile = cmd.config_file if cmd.config_file is not None else user_config_path(env)
    out.write(account_text(address, local, domain, found, conffile))
    out.flush()
    return 0


def _first_service(domain: str, resolver: dns.resolver.Resolver) -> tuple[SrvRecord, bool]:
    """The submission service and whether it is STARTTLS (RFC 8314 §5.1: implicit TLS first)."""
    queries = [f"_submissions._tcp.{domain}", f"_submission._tcp.{domain}"]
    for starttls, query in enumerate(queries):
        try:
            return best_record(query_srv(query, resolver)), bool(starttls)
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


# -- DNS (dnspython) --------------------------------------------------------------

def dns_resolver(env: Mapping[str, str]) -> dns.resolver.Resolver:
    """A resolver for ``$SMTPQ_DNS_SERVER``, else as resolv.conf says (see the module doc)."""
    # dnspython, not our own stub: every nameserver, retries, TCP for truncated answers.
    import dns.resolver

    resolver = dns.resolver.Resolver(configure=False)
    resolver.timeout = TIMEOUT
    override = env.get(DNS_SERVER_ENV)
    if override:
        resolver.nameservers = [_nameserver(server) for server in override.split(",")]
    else:
        try:
            resolver.read_resolv_conf(RESOLV_CONF)
        except dns.resolver.NoResolverConfiguration:  # unreadable, or no nameserver
            resolver.nameservers = ["127.0.0.1"]
    rounds = ATTEMPTS * resolver.timeout * len(resolver.nameservers)
    resolver.lifetime = rounds + ROUND_PAUSE * (ATTEMPTS - 1)
    return resolver


def _nameserver(server: str) -> dns.nameserver.Nameserver:
    """``host:port`` or ``[v6]:port`` (port 53 if none) as a dnspython nameserver."""
    import dns.nameserver

    host, _, port = server.strip().rpartition(":")
    return dns.nameserver.Do53Nameserver(host.strip("[]") or "127.0.0.1",
                                         int(port) if port.isdigit() else 53)


def query_srv(name: str, resolver: dns.resolver.Resolver) -> list[SrvRecord]:
    """The SRV records of *name*; :class:`DnsError` for NXDOMAIN, no answer, failures, timeouts."""
    import dns.exception
    import dns.name

    from smtpq.sender.protocol.dial import ascii_host

    try:
        answer = resolver.resolve(ascii_host(name), "SRV", search=False)
    except dns.exception.DNSException as exc:
        raise DnsError(str(exc)) from None
    return [SrvRecord(rr.priority, rr.weight, rr.port,
                      "" if rr.target == dns.name.root else rr.target.to_text(omit_final_dot=True))
            for rr in answer]


def best_record(records: list[SrvRecord]) -> SrvRecord:
    """RFC 2782: lowest priority, then highest weight; ``.`` is "not offered"."""
    if not records:
        raise DnsError("no SRV record")
    best = min(records, key=lambda r: (r.priority, -r.weight))
    if not best.target:
        raise DnsError("service not offered")
    return best
