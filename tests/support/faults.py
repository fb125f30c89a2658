"""A fault-injecting SMTP server: one fault at one protocol step, on demand.

``FaultServer(tls_material)`` listens on 127.0.0.1 and speaks just enough
ESMTP for the queue's client: a greeting, EHLO (PIPELINING, STARTTLS, AUTH
PLAIN LOGIN), STARTTLS with a certificate from :mod:`.certs`, AUTH PLAIN/LOGIN
against ``credentials``, MAIL, RCPT, DATA, RSET, NOOP and QUIT.  One thread
per connection, raw sockets, so it can misbehave in ways aiosmtpd cannot.

``server.inject(step, fault)`` arms a fault; ``server.heal()`` disarms it.
*step* is one of :data:`STEPS`:

``greeting``, ``ehlo``, ``starttls``, ``auth``, ``mail``, ``rcpt``, ``data``
(the DATA command), ``eod`` (the end of data, after the content arrived) and
``quit``.

*fault* is one of :data:`FAULTS`:

* a reply code (``"421"``, ``"450"`` … ``"554"``) sent instead of the normal reply
  (a 421 also closes the connection, RFC 5321 §3.8);
* ``close`` — hang up without a reply;
* ``stall`` — say nothing for ``stall`` seconds (past the client's timeout), then hang up;
* ``hang`` — say nothing until the server stops (a server that accepted and froze);
* ``trickle`` — send the normal reply one byte every ``trickle`` seconds (so a
  per-read timeout longer than that never fires), then go on serving;
* at ``data`` only: ``unread`` — say 354, then read nothing more until the server
  stops (the mail's content fills the socket buffers and the client's writes block);
* ``malformed`` — a reply that is not SMTP (``hello?``);
* ``overlong`` — a reply line far longer than RFC 5321 §4.5.3.1.5's 512 octets;
* at ``starttls`` only: ``handshake`` (the handshake fails: garbage instead of
  a ServerHello), ``expired``, ``self_signed`` (a CA the client does not
  trust) and ``wrong_host`` certificates;
* at ``eod`` only: ``drop_after_accept`` — the mail is taken (counted in
  ``accepted``) but the connection drops before the 250 reaches the client:
  RFC 5321 §3.8's window, where a retry duplicates the mail.

``accepted`` lists the content of every mail the server took (for a duplicate
count), ``commands`` every command line it got (AUTH lines included, so a test
can see what went over the wire), ``sessions`` counts connections.
``offer_starttls=False`` leaves STARTTLS out of the EHLO reply (a downgrade).
``echo_credentials=True`` makes a failed AUTH answer a ``535`` that repeats what
the client sent: the base64 payload, and ``user:password`` decoded (issue 14).
"""

from __future__ import annotations

import base64
import socket
import ssl
import threading
import time

from tests.support.certs import TlsMaterial

STEPS = ("greeting", "ehlo", "starttls", "auth", "mail", "rcpt", "data", "eod", "quit")
CODES = ("421", "450", "451", "452", "454", "550", "552", "553", "554")
GENERIC = (*CODES, "close", "stall", "malformed", "overlong")
TLS_FAULTS = ("handshake", "expired", "self_signed", "wrong_host")
#: Faults that only end when the server stops or after a long while (not in the matrix).
SLOW_FAULTS = ("hang", "trickle", "unread")
FAULTS = (*GENERIC, *TLS_FAULTS, *SLOW_FAULTS, "drop_after_accept")
_CERT = {"expired": "expired", "self_signed": "untrusted", "wrong_host": "wrong_host"}


def cells() -> list[tuple[str, str]]:
    """Every (step, fault) pair the server can play."""
    matrix = [(step, fault) for step in STEPS for fault in GENERIC]
    matrix += [("starttls", fault) for fault in TLS_FAULTS]
    matrix.append(("eod", "drop_after_accept"))
    return matrix


class _HangUp(Exception):
    """The fault ends the connection."""


class FaultServer:
    """See the module documentation."""

    def __init__(self, tls: TlsMaterial, *, credentials: dict[str, str] | None = None,
                 stall: float = 3.0, offer_starttls: bool = True,
                 echo_credentials: bool = False, trickle: float = 1.0) -> None:
        self.tls = tls
        self.echo_credentials = echo_credentials
        self.trickle = trickle
        self.stopping = threading.Event()  # ends every ``hang`` and ``trickle``
        self.offer_starttls = offer_starttls
        self.credentials = credentials if credentials is not None else {"me": "s3cret-pw"}
        self.stall = stall
        self.fault: tuple[str, str] | None = None
        self.accepted: list[bytes] = []
        self.commands: list[str] = []
        self.sessions = 0
        #: Connections that ended without QUIT after the server took a mail in them:
        #: each may carry one mail its client never recorded as sent (a crash test's bound).
        self.abrupt = 0
        self.errors: list[BaseException] = []
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept_loop, daemon=True).start()

    # -- control -------------------------------------------------------------
    def inject(self, step: str, fault: str) -> None:
        assert step in STEPS and fault in FAULTS, (step, fault)
        self.fault = (step, fault)

    def heal(self) -> None:
        self.fault = None

    def stop(self) -> None:
        self.stopping.set()
        self.listener.close()
        for thread in self._threads:
            thread.join(timeout=self.stall + 2)
        if self.errors:
            raise self.errors[0]

    # -- serving -------------------------------------------------------------
    def _accept_loop(self) -> None:
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            self.sessions += 1
            # Replies go out at once: Nagle + delayed ACK would add 40 ms per pipelined batch.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            thread = threading.Thread(target=self._serve, args=(sock,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, sock: socket.socket) -> None:
        conn = _Conn(sock, self)
        try:
            conn.run()
        except (_HangUp, OSError, ssl.SSLError, ConnectionError, UnicodeError):
            pass
        except BaseException as exc:  # noqa: BLE001 - surfaced by stop()
            self.errors.append(exc)
        finally:
            if conn.taken and not conn.quit:
                with self._lock:
                    self.abrupt += 1
            conn.close()


class _Conn:
    """One client connection."""

    def __init__(self, sock: socket.socket, server: FaultServer) -> None:
        self.sock: socket.socket | ssl.SSLSocket = sock
        self.sock.settimeout(10)
        self.server = server
        self.buffer = b""
        self.tls = False
        self.taken = 0  # mails taken on this connection
        self.quit = False

    # -- wire ----------------------------------------------------------------
    def send(self, *lines: str) -> None:
        self.sock.sendall("".join(line + "\r\n" for line in lines).encode())

    def line(self) -> str:
        while b"\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise _HangUp
            self.buffer += chunk
        raw, _, self.buffer = self.buffer.partition(b"\n")
        text = raw.rstrip(b"\r").decode("utf-8", "replace")
        self.server.commands.append(text)
        return text

    def data(self) -> bytes:
        while b"\r\n.\r\n" not in b"\r\n" + self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise _HangUp
            self.buffer += chunk
        marker = (b"\r\n" + self.buffer).index(b"\r\n.\r\n")
        body, self.buffer = self.buffer[:marker], self.buffer[marker + 3:]
        return body

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    # -- faults --------------------------------------------------------------
    def reply(self, step: str, normal: str | tuple[str, ...]) -> None:
        """Send *normal* unless a fault is armed for *step*; then play the fault."""
        fault = self.server.fault
        if fault is None or fault[0] != step or fault[1] in TLS_FAULTS:
            self.send(*((normal,) if isinstance(normal, str) else normal))
            return
        kind = fault[1]
        if kind == "trickle":
            self._trickle(normal)
            return
        if kind in CODES:
            detail = {"4": "4.3.0", "5": "5.3.0"}[kind[0]]
            self.send(f"{kind} {detail} injected fault at {step}")
            if kind == "421":
                raise _HangUp  # RFC 5321 §3.8: 421 closes the channel
            return
        if kind == "stall":
            time.sleep(self.server.stall)
        elif kind == "hang":
            self.server.stopping.wait()
        elif kind == "malformed":
            self.sock.sendall(b"hello? this is not smtp\r\n")
        elif kind == "overlong":
            self.sock.sendall(b"250 " + b"x" * 70000 + b"\r\n")
            return  # and keep serving: the client must give up on its own
        raise _HangUp  # close, stall, drop_after_accept

    def _trickle(self, normal: str | tuple[str, ...]) -> None:
        lines = (normal,) if isinstance(normal, str) else normal
        for byte in "".join(line + "\r\n" for line in lines).encode():
            if self.server.stopping.wait(self.server.trickle):
                raise _HangUp
            self.sock.sendall(bytes([byte]))

    def faulty(self, step: str) -> str | None:
        fault = self.server.fault
        return fault[1] if fault is not None and fault[0] == step else None

    # -- the dialogue --------------------------------------------------------
    def run(self) -> None:
        self.reply("greeting", "220 faults.example ESMTP")
        while True:
            line = self.line()
            verb = line.split(" ", 1)[0].upper()
            handler = getattr(self, f"_{verb.lower()}", None)
            if handler is None:
                self.send("500 5.5.1 unknown command")
            elif handler(line) is False:
                return

    def _ehlo(self, line: str) -> None:
        ext = ["PIPELINING", "8BITMIME", "AUTH PLAIN LOGIN"]
        if not self.tls and self.server.offer_starttls:
            ext.append("STARTTLS")
        lines = ["faults.example", *ext]
        self.reply("ehlo", tuple(f"250-{x}" for x in lines[:-1]) + (f"250 {lines[-1]}",))

    def _helo(self, line: str) -> None:
        self.reply("ehlo", "250 faults.example")

    def _starttls(self, line: str) -> None:
        self.reply("starttls", "220 2.0.0 ready")
        kind = self.faulty("starttls")
        if kind == "handshake":
            self.sock.sendall(b"\x15\x03\x03\x00\x02\x02\x28garbage")  # a fatal alert
            raise _HangUp
        context = self.server.tls.server_context(_CERT.get(kind or "", "good"))
        self.sock = context.wrap_socket(self.sock, server_side=True)
        self.buffer = b""
        self.tls = True

    def _auth(self, line: str) -> None:
        parts = line.split()
        mechanism = parts[1].upper() if len(parts) > 1 else ""
        if mechanism == "PLAIN":
            response = parts[2] if len(parts) > 2 else self._challenge("")
            _, user, password = base64.b64decode(response).decode().split("\0")
        elif mechanism == "LOGIN":
            user = base64.b64decode(parts[2] if len(parts) > 2 else
                                    self._challenge("VXNlcm5hbWU6")).decode()
            response = self._challenge("UGFzc3dvcmQ6")
            password = base64.b64decode(response).decode()
        else:
            self.send("504 5.5.4 unrecognized authentication type")
            return
        if self.server.credentials.get(user) != password:
            if self.server.echo_credentials:
                self.send(f"535-5.7.8 authentication failed for {response}")
                self.send(f"535 5.7.8 {user}:{password} rejected")
                return
            self.send("535 5.7.8 authentication failed")
            return
        self.reply("auth", "235 2.7.0 authenticated")

    def _challenge(self, text: str) -> str:
        self.send(f"334 {text}")
        return self.line()

    def _mail(self, line: str) -> None:
        self.reply("mail", "250 2.1.0 ok")

    def _rcpt(self, line: str) -> None:
        self.reply("rcpt", "250 2.1.5 ok")

    def _data(self, line: str) -> None:
        if self.faulty("data") == "unread":
            self.send("354 go ahead")
            self.server.stopping.wait()
            raise _HangUp
        self.reply("data", "354 go ahead")
        if self.faulty("data") in CODES:
            return  # DATA refused: no content follows
        content = self.data()
        if self.faulty("eod") == "drop_after_accept":
            self.server.accepted.append(content)
            self.taken += 1
            raise _HangUp
        if self.faulty("eod") in (None, "overlong"):  # an overlong reply still says 250
            self.server.accepted.append(content)
            self.taken += 1
        self.reply("eod", "250 2.0.0 queued")

    def _rset(self, line: str) -> None:
        self.send("250 2.0.0 ok")

    def _noop(self, line: str) -> None:
        self.send("250 2.0.0 ok")

    def _quit(self, line: str) -> bool:
        self.quit = True
        self.reply("quit", "221 2.0.0 bye")
        return False
