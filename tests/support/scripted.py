"""A tiny scripted SMTP peer for what aiosmtpd cannot do.

Each accepted connection runs ``script(peer)`` in its own thread.  The script
talks raw lines: odd greetings, stalls past a timeout, hang-ups mid-session,
malformed replies, a STARTTLS answered 454, or a TLS upgrade on demand.
Every ``recv`` result is recorded in ``peer.reads`` so tests can assert what
arrived in one read (pipelining, RFC 2920).
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable

Script = Callable[["Peer"], None]


class Peer:
    """One accepted client connection, seen from the scripted server."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock: socket.socket | ssl.SSLSocket = sock
        self.sock.settimeout(10)
        self.buffer = b""
        self.reads: list[bytes] = []
        self.lines: list[str] = []

    def send(self, *lines: str) -> None:
        """Send reply lines, CRLF added to each, in one write."""
        self.sock.sendall("".join(line + "\r\n" for line in lines).encode())

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self) -> bool:
        chunk = self.sock.recv(65536)
        if not chunk:
            return False
        self.reads.append(chunk)
        self.buffer += chunk
        return True

    def line(self) -> str:
        """The next command line without CRLF ("" at end of stream)."""
        while b"\n" not in self.buffer:
            if not self._fill():
                return ""
        raw, _, self.buffer = self.buffer.partition(b"\n")
        text = raw.rstrip(b"\r").decode("utf-8", "replace")
        self.lines.append(text)
        return text

    def expect(self, prefix: str) -> str:
        line = self.line()
        assert line.upper().startswith(prefix.upper()), (prefix, line)
        return line

    def data(self) -> bytes:
        """Read DATA content up to and excluding the ``.`` line."""
        while b"\r\n.\r\n" not in b"\r\n" + self.buffer:
            if not self._fill():
                raise ConnectionError("EOF inside DATA")
        marker = (b"\r\n" + self.buffer).index(b"\r\n.\r\n")
        body, self.buffer = self.buffer[:marker], self.buffer[marker + 3:]
        return body

    def start_tls(self, context: ssl.SSLContext) -> None:
        self.sock = context.wrap_socket(self.sock, server_side=True)

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


class ScriptedServer:
    """Listen on 127.0.0.1 (or ``family``/``host``), run ``script`` per connection."""

    def __init__(self, script: Script, host: str = "127.0.0.1",
                 family: socket.AddressFamily = socket.AF_INET) -> None:
        self.script = script
        self.listener = socket.socket(family, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((host, 0))
        self.listener.listen(16)
        self.host = host
        self.port = self.listener.getsockname()[1]
        self.peers: list[Peer] = []
        self.errors: list[BaseException] = []
        self._threads: list[threading.Thread] = []
        self._accepter = threading.Thread(target=self._accept_loop, daemon=True)
        self._accepter.start()

    def _accept_loop(self) -> None:
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            peer = Peer(sock)
            self.peers.append(peer)
            thread = threading.Thread(target=self._run, args=(peer,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _run(self, peer: Peer) -> None:
        try:
            self.script(peer)
        except (OSError, ssl.SSLError, ConnectionError):
            pass  # the client went away: that is what many scripts test
        except BaseException as exc:  # noqa: BLE001 - surfaced by stop()
            self.errors.append(exc)
        finally:
            peer.close()

    @property
    def peer(self) -> Peer:
        """The first connection's peer (most tests make exactly one)."""
        return self.peers[0]

    def stop(self) -> None:
        self.listener.close()
        for thread in self._threads:
            thread.join(timeout=5)
        if self.errors:
            raise self.errors[0]

    def __enter__(self) -> ScriptedServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def smtp_dialogue(peer: Peer, ehlo: tuple[str, ...] = ("PIPELINING",),
                  replies: dict[str, str] | None = None) -> None:
    """A minimal well-behaved server: greets, answers EHLO, accepts mail.

    ``replies`` maps a command line (``"RCPT TO:<x@y>"``) to a forced reply.
    """
    replies = replies or {}
    peer.send("220 scripted ESMTP")
    while True:
        line = peer.line()
        verb = line[:4].upper()
        if line in replies:
            peer.send(replies[line])
        elif not line or verb == "QUIT":
            peer.send("221 bye")
            return
        elif verb in ("EHLO", "LHLO"):
            lines = ["scripted", *ehlo]
            peer.send(*[f"250-{x}" for x in lines[:-1]], f"250 {lines[-1]}")
        elif verb == "DATA":
            peer.send("354 go ahead")
            peer.data()
            peer.send("250 2.0.0 queued")
        else:
            peer.send("250 ok")
