"""Opening the transport: TCP (IPv4/IPv6, IDN, source address), Unix socket, SOCKS5.

Error texts and exit codes are msmtp's (``net_open_socket``):
``cannot locate host H: …`` (EX_NOHOST), ``cannot connect to H, port P: …``
(EX_TEMPFAIL), ``cannot bind source ip X: …`` and ``cannot create socket: …``
(EX_OSERR), ``proxy failure: …`` (EX_UNAVAILABLE).  ``socket`` overrides host,
port and proxy; with a proxy, the server's name is resolved by the proxy
(SOCKS5 ATYP 3, RFC 1928 §5).

Host names are passed to ``getaddrinfo`` encoded (:func:`_encoded_host`),
which keeps Python's ``idna`` codec (1 ms) unloaded for the usual ASCII name.
A queue passes a ``connect_limit`` (``.deadlines``): connecting then ends with ``StageTimeout``
after that long, even when the account sets no ``timeout``.
"""

from __future__ import annotations

import errno
import os
import socket

from smtpq.sender.errors import NetworkError
from smtpq.sender.protocol.deadlines import Deadline
from smtpq.sender.record import FrozenRecord
from smtpq.sender.sysexits import ExitCode

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (import cost)
if TYPE_CHECKING:
    from typing import Any

    from smtpq.sender.config.settings import Account

DEFAULT_PROXY_PORT = 1080

# RFC 1928 §6 reply codes, worded as msmtp words them.
_SOCKS_REPLIES = {
    1: "general server failure",
    2: "connection not allowed",
    3: "network unreachable",
    4: "host unreachable",
    5: "connection refused",
    6: "time-to-live expired",
    7: "command not supported",
    8: "address type not supported",
}


class Endpoint(FrozenRecord):
    """Where a connection goes, for messages and ``--serverinfo``.

    A record, not a dataclass (import and class-building cost: smtpq.sender.record).
    """

    __slots__ = ("host", "peer_address", "port", "proxied", "socket_path")
    FIELDS = ("host", "port", "socket_path", "peer_address", "proxied")

    host: str | None
    port: int
    socket_path: str | None
    peer_address: tuple | None  # sockaddr of a direct TCP connection
    proxied: bool

    def __init__(self, host: str | None, port: int, socket_path: str | None = None,
                 peer_address: tuple | None = None, proxied: bool = False) -> None:
        self._freeze(host=host, port=port, socket_path=socket_path, peer_address=peer_address,
                     proxied=proxied)

    def numeric_address(self) -> str | None:
        """The server's IP address (``127.0.0.1``), for a direct TCP connection."""
        return self._nameinfo(socket.NI_NUMERICHOST)

    def canonical_name(self) -> str | None:
        """The server's name by reverse lookup (``localhost``), or None."""
        return self._nameinfo(socket.NI_NAMEREQD)

    def _nameinfo(self, flags: int) -> str | None:
        if self.peer_address is None:
            return None
        try:
            return socket.getnameinfo(self.peer_address, flags)[0]
        except OSError:
            return None


def ascii_host(host: str) -> str:
    """*host* as DNS needs it: IDNA 2008 with UTS #46 mapping; unchanged if not encodable."""
    if host.isascii():
        return host
    import idna  # only for a non-ASCII name (1.5 ms of imports)

    try:
        return idna.encode(host, uts46=True).decode("ascii")
    except idna.IDNAError:
        return host


def dial(account: Account, connect_limit: float | None = None
         ) -> tuple[socket.socket, Endpoint]:
    """Connect as *account* says, within *connect_limit* seconds if given; the socket
    has the account's timeout set."""
    timeout = account.timeout or None
    if account.socket:
        deadline = _deadline(connect_limit, f"connecting to {account.socket}")
        return _dial_unix(account.socket, timeout, deadline), Endpoint(None, 0, account.socket)
    host, port = account.host or "", account.effective_port()
    deadline = _deadline(connect_limit, f"connecting to {host}, port {port}")
    if account.proxy_host:
        sock = _dial_proxy(account, host, port, _within(timeout, deadline))
        sock.settimeout(timeout)
        return _tune(sock), Endpoint(host, port, proxied=True)
    sock, address = dial_tcp(host, port, timeout, account.source_ip, deadline)
    return _tune(sock), Endpoint(host, port, peer_address=address)


def _deadline(limit: float | None, waiting_for: str) -> Deadline | None:
    return None if limit is None else Deadline(limit, waiting_for, connecting=True)


def _within(timeout: float | None, deadline: Deadline | None) -> float | None:
    """The account's *timeout*, shortened to what is left of *deadline*
    (raises ``StageTimeout`` when nothing is left)."""
    if deadline is None:
        return timeout
    left = deadline.check()
    return left if timeout is None else min(left, timeout)


def _connect(sock: socket.socket, address: tuple[Any, ...] | str, timeout: float | None,
             deadline: Deadline | None) -> None:
    """``connect`` within the account's *timeout* and the *deadline*; the socket
    keeps the account's timeout for what follows."""
    sock.settimeout(_within(timeout, deadline))
    try:
        sock.connect(address)
    except OSError:
        if deadline is not None and deadline.left() <= 0:
            raise deadline.expired() from None
        raise
    sock.settimeout(timeout)


def _tune(sock: socket.socket) -> socket.socket:
    # Commands are written in whole batches; do not let Nagle delay them.
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:
        pass
    return sock


def _dial_unix(path: str, timeout: float | None, deadline: Deadline | None = None
               ) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        _connect(sock, path, timeout, deadline)
    except OSError as exc:
        sock.close()
        raise NetworkError(f"cannot connect to {path}: {_strerror(exc)}",
                           exit_code=ExitCode.EX_TEMPFAIL) from exc
    except BaseException:
        sock.close()
        raise
    return sock


def _strerror(exc: OSError) -> str:
    if isinstance(exc, TimeoutError) and not exc.errno:
        return os.strerror(errno.ETIMEDOUT)
    return os.strerror(exc.errno) if exc.errno else (exc.strerror or str(exc))


def _encoded_host(host: str) -> bytes | str:
    """*host* as ``getaddrinfo`` would encode a ``str``, without its ``idna`` codec.

    For an ASCII name the codec (``encodings.idna``) only checks the label
    lengths; this repeats its checks and messages.  Other names are passed on
    as text, for the codec.
    """
    if not host.isascii():
        return host
    labels = host.split(".")
    if any(not 0 < len(label) < 64 for label in labels[:-1]):
        raise UnicodeError("label empty or too long")
    if len(labels[-1]) >= 64:
        raise UnicodeError("label too long")
    return host.encode("ascii")


def resolve(host: str, port: int) -> list[tuple]:
    """getaddrinfo for a stream socket, failing as msmtp: ``cannot locate host``."""
    try:
        return socket.getaddrinfo(_encoded_host(ascii_host(host)), port, 0, socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        text = getattr(exc, "strerror", None) or str(exc)
        raise NetworkError(f"cannot locate host {host}: {text}",
                           exit_code=ExitCode.EX_NOHOST) from exc


def _source_family(source_ip: str) -> int:
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, source_ip.split("%")[0])
            return family
        except OSError:
            continue
    raise NetworkError(f"cannot bind source ip {source_ip}: {os.strerror(errno.EINVAL)}",
                       exit_code=ExitCode.EX_OSERR)


def _bind(sock: socket.socket, source_ip: str) -> None:
    try:
        info = socket.getaddrinfo(source_ip, 0, sock.family, socket.SOCK_STREAM, 0,
                                  socket.AI_NUMERICHOST)
        sock.bind(info[0][4])
    except OSError as exc:
        text = os.strerror(errno.EINVAL) if isinstance(exc, socket.gaierror) else _strerror(exc)
        raise NetworkError(f"cannot bind source ip {source_ip}: {text}",
                           exit_code=ExitCode.EX_OSERR) from exc


def dial_tcp(host: str, port: int, timeout: float | None, source_ip: str | None = None,
             deadline: Deadline | None = None) -> tuple[socket.socket, tuple]:
    """Try every address of *host* in turn (as msmtp); return the socket and peer address."""
    infos = resolve(host, port)
    if source_ip:
        family = _source_family(source_ip)
        infos = [info for info in infos if info[0] == family]
    failure: OSError | None = None
    connect_errno = 0
    for family, type_, proto, _, address in infos:
        try:
            sock = socket.socket(family, type_, proto)
        except OSError as exc:
            failure = exc
            continue
        try:
            if source_ip:
                _bind(sock, source_ip)
            _connect(sock, address, timeout, deadline)
            return sock, address
        except NetworkError:
            sock.close()
            raise
        except OSError as exc:
            sock.close()
            code = exc.errno or errno.ETIMEDOUT
            connect_errno = code if code != errno.ENETUNREACH else connect_errno
            failure = None
    if failure is not None:
        raise NetworkError(f"cannot create socket: {_strerror(failure)}",
                           exit_code=ExitCode.EX_OSERR)
    text = os.strerror(connect_errno or errno.ENETUNREACH)
    raise NetworkError(f"cannot connect to {host}, port {port}: {text}",
                       exit_code=ExitCode.EX_TEMPFAIL)


def _dial_proxy(account: Account, host: str, port: int,
                timeout: float | None) -> socket.socket:
    """SOCKS5 CONNECT through ``proxy_host``; the proxy resolves *host* (rdns)."""
    from python_socks import ProxyError, ProxyTimeoutError, ProxyType
    from python_socks.sync import Proxy

    proxy_host = account.proxy_host or ""
    proxy_port = account.proxy_port or DEFAULT_PROXY_PORT
    # Resolve the proxy ourselves, so a lookup failure reads as msmtp's.
    address = resolve(proxy_host, proxy_port)[0][4]
    proxy = Proxy(ProxyType.SOCKS5, address[0], proxy_port, rdns=True)
    try:
        sock = proxy.connect(ascii_host(host), port, timeout=timeout,
                             local_addr=(account.source_ip, 0) if account.source_ip else None)
    except ProxyTimeoutError as exc:
        raise NetworkError("network read error: the operation timed out",
                           exit_code=ExitCode.EX_IOERR) from exc
    except ProxyError as exc:
        text = _SOCKS_REPLIES.get(exc.error_code or 0, "unknown error")
        if exc.error_code is None:
            text = "protocol violation"
        raise NetworkError(f"proxy failure: {text}",
                           exit_code=ExitCode.EX_UNAVAILABLE) from exc
    except OSError as exc:
        raise NetworkError(f"cannot connect to {proxy_host}, port {proxy_port}: "
                           f"{_strerror(exc)}", exit_code=ExitCode.EX_TEMPFAIL) from exc
    sock.settimeout(timeout)  # python-socks leaves its own (60 s) default on "timeout off"
    return sock
