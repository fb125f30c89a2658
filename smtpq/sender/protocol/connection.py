"""A connected byte stream with buffered reads, batched writes and msmtp's I/O errors.

Reads come from a 64 KiB receive buffer; writes collect in a buffer that is
sent when it grows past 64 KiB, when a reply is about to be read, or on
``flush()`` — so a pipelined batch (RFC 2920) leaves in one ``send``.  The
account's ``timeout`` (set on the socket by :mod:`.dial`) bounds every read
and write.  Failures become ``NetworkError`` (``smtpq.sender.errors``) with msmtp's texts:
``network read error: …``/``network write error: …`` in plain text,
``cannot read from TLS connection: …``/``cannot write to TLS connection: …``
under TLS, all EX_IOERR.  A queue's session also sets a ``deadline``
(:mod:`.deadlines`) for the stage under way: every read and write then waits
at most until it, so a server that trickles cannot stretch the stage, and the
stage ends in ``StageTimeout`` once it has passed.

``ssl`` is not imported here (it costs ~8 ms): a TLS socket or a TLS error can
only exist once the TLS layer has imported it, so ``sys.modules`` tells.
"""

from __future__ import annotations

import sys

from smtpq.sender.errors import NetworkError
from smtpq.sender.protocol.deadlines import Deadline
from smtpq.sender.sysexits import ExitCode

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (import cost)
if TYPE_CHECKING:
    import socket

    from smtpq.sender.protocol.dial import Endpoint

RECV_SIZE = 64 * 1024
WRITE_BUFFER = 64 * 1024
TIMED_OUT = "the operation timed out"
#: GnuTLS's wording for a TLS stream cut without close_notify.
TLS_CUT = "The TLS connection was non-properly terminated."
PULL_ERROR = "Error in the pull function."
PUSH_ERROR = "Error in the push function."
#: Largest piece written at once under a deadline: one TLS record (RFC 8446 §5.1),
#: so that a single write cannot outlast the deadline by much.
DEADLINE_PIECE = 16 * 1024


def _io_error(message: str) -> NetworkError:
    return NetworkError(message, exit_code=ExitCode.EX_IOERR)




def _tls_reason(exc: OSError, *, reading: bool) -> str | None:
    """The TLS library's reason for *exc*, or None if it is not an ``ssl.SSLError``."""
    ssl = sys.modules.get("ssl")
    if ssl is None or not isinstance(exc, ssl.SSLError):
        return None
    if reading and isinstance(exc, ssl.SSLEOFError):
        return TLS_CUT
    return exc.reason or exc.strerror or str(exc)


class Connection:
    """One transport to the server; ``sock`` becomes an ``SSLSocket`` after TLS starts."""

    def __init__(self, sock: socket.socket, endpoint: Endpoint) -> None:
        self.sock: socket.socket = sock
        self.endpoint = endpoint
        self._rbuf = bytearray()
        self._wbuf = bytearray()
        self.closed = False
        #: The stage's deadline (a queue's session), or None: msmtp's behaviour.
        self.deadline: Deadline | None = None
        #: With a queue's limits: the deadline of a write outside any stage (seconds,
        #: counted from the write, plus one second per ``write_rate`` bytes taken).
        self.write_limit: float | None = None
        self.write_rate: float | None = None
        self._per_operation = sock.gettimeout()  # the account's ``timeout``, or None
        self._stage_bound = False  # the last operation's timeout was the stage's

    @property
    def tls_active(self) -> bool:
        ssl = sys.modules.get("ssl")
        return ssl is not None and isinstance(self.sock, ssl.SSLSocket)

    # -- reading -----------------------------------------------------------
    def readline(self, limit: int) -> bytes:
        """One line with its LF; at most *limit* bytes; shorter (maybe b"") at EOF."""
        self.flush()
        while True:
            end = self._rbuf.find(b"\n", 0, limit)
            if end >= 0 or len(self._rbuf) >= limit:
                size = end + 1 if end >= 0 else limit
                line = bytes(self._rbuf[:size])
                del self._rbuf[:size]
                return line
            chunk = self._recv()
            if not chunk:
                line = bytes(self._rbuf)
                self._rbuf.clear()
                return line
            self._rbuf += chunk

    def has_buffered_input(self) -> bool:
        """True if the server sent bytes we have not consumed (STARTTLS injection check)."""
        return bool(self._rbuf)

    def _recv(self) -> bytes:
        deadline = self.deadline
        if deadline is not None:
            self._arm(deadline)
        elif self.write_limit is not None:
            self.restore_timeout()  # an earlier stage shortened it
        try:
            return self.sock.recv(RECV_SIZE)
        except TimeoutError as exc:
            self._raise_if_stage_ended(deadline)
            raise _io_error(f"network read error: {TIMED_OUT}") from exc
        except OSError as exc:
            reason = _tls_reason(exc, reading=True)
            if reason is not None:
                raise _io_error(f"cannot read from TLS connection: {reason}") from exc
            if self.tls_active:
                raise _io_error(f"cannot read from TLS connection: {PULL_ERROR}") from exc
            raise _io_error(f"network read error: {exc.strerror or exc}") from exc

    # -- writing -----------------------------------------------------------
    def write(self, data: bytes) -> None:
        """Queue *data*; large pieces go out at once without another copy."""
        if len(data) >= WRITE_BUFFER:
            self.flush()
            self._send(data)
            return
        self._wbuf += data
        if len(self._wbuf) >= WRITE_BUFFER:
            self.flush()

    def flush(self) -> None:
        if self._wbuf:
            data = bytes(self._wbuf)
            self._wbuf.clear()
            self._send(data)

    def _send(self, data: bytes) -> None:
        deadline = self.deadline
        if deadline is None and self.write_limit is not None:
            deadline = Deadline(self.write_limit, "sending to the server", rate=self.write_rate)
        try:
            if deadline is None:
                self.sock.sendall(data)
            else:
                self._send_by(deadline, data)
        except TimeoutError as exc:
            self._raise_if_stage_ended(deadline)
            raise _io_error(f"network write error: {TIMED_OUT}") from exc
        except OSError as exc:
            reason = _tls_reason(exc, reading=False)
            if reason is not None:
                raise _io_error(f"cannot write to TLS connection: {reason}") from exc
            if self.tls_active:
                raise _io_error(f"cannot write to TLS connection: {PUSH_ERROR}") from exc
            raise _io_error(f"network write error: {exc.strerror or exc}") from exc

    # -- deadlines -------------------------------------------------------------
    def _arm(self, deadline: Deadline) -> None:
        """Let the next operation wait no longer than the deadline (nor the account's
        ``timeout``); raises ``StageTimeout`` once it has passed."""
        limit = deadline.check()
        if deadline.each is not None and deadline.each < limit:
            limit = deadline.each
        per_operation = self._per_operation
        self._stage_bound = per_operation is None or limit < per_operation
        self.sock.settimeout(limit if self._stage_bound else per_operation)

    def _raise_if_stage_ended(self, deadline: Deadline | None) -> None:
        """After a timeout: ``StageTimeout`` if the stage's limit, not the account's
        ``timeout``, ended the operation."""
        if deadline is not None and (self._stage_bound or deadline.left() <= 0):
            raise deadline.expired()

    def restore_timeout(self) -> None:
        """Give the socket the account's own ``timeout`` back (stages shorten it)."""
        self.sock.settimeout(self._per_operation)

    def _send_by(self, deadline: Deadline, data: bytes) -> None:
        """Send *data* in pieces, each bounded by what is left of *deadline*
        (``sendall`` under TLS restarts its timeout with every record)."""
        view = memoryview(data)
        while view:
            self._arm(deadline)
            sent = self.sock.send(view[:DEADLINE_PIECE])
            deadline.credit(sent)
            view = view[sent:]

    # -- TLS and teardown ------------------------------------------------------
    def replace_socket(self, sock: socket.socket) -> None:
        """Swap in the TLS socket after a handshake (RFC 3207 §4.2: buffers are empty)."""
        self._rbuf.clear()
        self._wbuf.clear()
        self.sock = sock

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        # No TLS close_notify exchange: Python's unwrap() would wait for the
        # server's answer; after QUIT the server closes anyway.
        try:
            self.sock.close()
        except OSError:
            pass
