"""A tiny in-process SOCKS5 proxy (RFC 1928, no authentication) for tests.

It accepts CONNECT with an IPv4, IPv6 or domain-name address, resolves names
itself (so tests can check that DNS goes through the proxy), and relays bytes.
``reply_code`` forces a failure reply (e.g. 5 = connection refused).
"""

from __future__ import annotations

import ipaddress
import socket
import struct
import threading


class Socks5Proxy:
    def __init__(self, reply_code: int = 0, aliases: dict[str, str] | None = None) -> None:
        self.reply_code = reply_code
        self.aliases = aliases or {}  # name -> address the proxy "resolves" it to
        self.requests: list[tuple[str, int]] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.host, self.port = self.listener.getsockname()[:2]
        threading.Thread(target=self._accept_loop, daemon=True).start()

    def _accept_loop(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    @staticmethod
    def _recv_exact(sock: socket.socket, count: int) -> bytes:
        data = b""
        while len(data) < count:
            chunk = sock.recv(count - len(data))
            if not chunk:
                raise ConnectionError("short read")
            data += chunk
        return data

    def _read_request(self, client: socket.socket) -> tuple[str, int]:
        _ver, nmethods = self._recv_exact(client, 2)
        self._recv_exact(client, nmethods)
        client.sendall(b"\x05\x00")
        _ver, _cmd, _rsv, atyp = self._recv_exact(client, 4)
        if atyp == 1:
            host = str(ipaddress.IPv4Address(self._recv_exact(client, 4)))
        elif atyp == 4:
            host = str(ipaddress.IPv6Address(self._recv_exact(client, 16)))
        else:
            host = self._recv_exact(client, self._recv_exact(client, 1)[0]).decode()
        port = struct.unpack("!H", self._recv_exact(client, 2))[0]
        return host, port

    def _serve(self, client: socket.socket) -> None:
        with client:
            try:
                host, port = self._read_request(client)
                self.requests.append((host, port))
                if self.reply_code:
                    client.sendall(bytes([5, self.reply_code, 0, 1]) + bytes(6))
                    return
                target = (self.aliases.get(host, host), port)
                upstream = socket.create_connection(target, timeout=10)
            except OSError:
                client.sendall(bytes([5, 5, 0, 1]) + bytes(6))
                return
            client.sendall(bytes([5, 0, 0, 1]) + bytes(6))
            with upstream:
                self._relay(client, upstream)

    @staticmethod
    def _relay(a: socket.socket, b: socket.socket) -> None:
        def pump(src: socket.socket, dst: socket.socket) -> None:
            try:
                while chunk := src.recv(65536):
                    dst.sendall(chunk)
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        other = threading.Thread(target=pump, args=(b, a), daemon=True)
        other.start()
        pump(a, b)
        other.join(timeout=30)

    def stop(self) -> None:
        self.listener.close()
