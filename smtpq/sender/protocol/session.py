"""An SMTP/LMTP client session: greeting, EHLO/HELO/LHLO, STARTTLS, commands, RSET, QUIT.

The order is msmtp's: connect, TLS at once for ``tls_starttls off`` (RFC 8314
§3.3), the greeting (anything but 220 is ``cannot get initial OK message from
server``), EHLO with a HELO fallback (LHLO for LMTP, RFC 2033 §4.1), then for
``tls on`` STARTTLS (RFC 3207) followed by a new EHLO with all earlier
knowledge discarded.  There is never a plain-text continuation when TLS was
asked for.  A :class:`Session` satisfies ``smtpq.sender.auth.channel.AuthChannel``.
A mail's transaction (MAIL, RCPT…, DATA) is built on top of it, in
``transaction.py``, from the raw steps here: ``send_line``, ``read_reply``,
``stream_data``.

Opened with ``limits`` (:class:`~.deadlines.StageLimits`, the queue's), every
network stage has an overall deadline: connecting, the TLS handshake, each
reply (counted from when the client starts waiting for it, so pipelined
replies each get their own), the mail's content and its end of data.  The
replies due are remembered in the order their commands went, so a missed
deadline says what was awaited: ``timed out after 300 s waiting for the
greeting``.  Without ``limits`` (``--send-now``) nothing changes: msmtp has no
deadline but the account's ``timeout``.
"""

from __future__ import annotations

import select

from smtpq.sender.config.settings import Protocol
from smtpq.sender.errors import (
    CapabilityMissing,
    DeliveryError,
    ProtocolError,
    ReplyFormatError,
    ServerRejection,
    StageTimeout,
)
from smtpq.sender.protocol.capabilities import Capabilities
from smtpq.sender.protocol.connection import Connection
from smtpq.sender.protocol.deadlines import Deadline
from smtpq.sender.protocol.dial import dial
from smtpq.sender.protocol.redaction import Secrets
from smtpq.sender.protocol.reply import Reply, read_reply, with_reply
from smtpq.sender.protocol.transcript import Tracer
from smtpq.sender.sysexits import ExitCode

# typing.TYPE_CHECKING without importing typing, collections.abc (import cost);
# the TLS layer (and ssl, ~15 ms) is imported only when TLS is used.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from smtpq.sender.config.settings import Account
    from smtpq.sender.protocol.deadlines import StageLimits
    from smtpq.sender.protocol.transcript import Transcript
    from smtpq.sender.tls import TlsPolicy, TlsSessionInfo


#: How long a reply may keep the client waiting before ``Session.on_idle`` runs.
IDLE_WAIT = 0.005
#: What the reply to the end of data is awaited as (RFC 5321 §4.5.3.2.6: its own limit).
END_OF_DATA = "the reply to the end of data"


def _awaited(line: str, secret: bool) -> str:
    """What the reply to command *line* is called in a deadline's message (never a secret)."""
    if line == ".":
        return END_OF_DATA
    verb = "AUTH" if secret else line.split(" ", 1)[0].upper()
    if verb in ("MAIL", "RCPT"):
        verb += " FROM" if verb == "MAIL" else " TO"
    return f"the reply to {verb}"


class Session:
    """A connected, greeted session on one :class:`Connection`.

    ``on_idle``, when set, is called (at most once per reply) when a reply has
    not arrived within ``IDLE_WAIT`` seconds: a caller's chance to do work it
    put off while the server was quick (the queue commits outcomes then).  It
    must not raise.
    """

    def __init__(self, connection: Connection, account: Account, *,
                 transcript: Transcript | None = None, tls_policy: TlsPolicy | None = None,
                 limits: StageLimits | None = None) -> None:
        self.connection = connection
        self.account = account
        self.tracer = Tracer(transcript)
        self.tls_policy = tls_policy
        self.greeting: Reply | None = None
        self.capabilities = Capabilities()
        #: The EHLO knowledge from before STARTTLS (for ``--serverinfo``), else None.
        self.capabilities_before_tls: Capabilities | None = None
        self.tls_info: TlsSessionInfo | None = None
        self.broken = False  # the connection is in an unknown state: close it
        self.transaction_open = False  # set by a Transaction, ended by it or by RSET
        self._in_auth = False
        #: What this session sent as credentials, blanked from every reply it reads.
        self.secrets = Secrets(account.user)
        self.on_idle: Callable[[], None] | None = None
        # AuthChannel attributes (plain attributes, as the protocol declares them)
        self.auth_methods: frozenset[str] = frozenset()
        self.tls_active = connection.tls_active
        self.server_host = account.host or account.socket or ""
        self.server_port = connection.endpoint.port  # 0 for a Unix socket
        #: The stage deadlines (a queue's session), or None: msmtp's behaviour.
        self.limits = limits
        #: The missed deadline that broke this session (its server stalls), if any.
        self.timed_out: StageTimeout | None = None
        self._awaiting: list[str] = ["the greeting"]  # replies due, oldest first
        self._last_awaited = "the greeting"
        if limits is not None:
            connection.write_limit, connection.write_rate = limits.reply, limits.min_rate

    # -- opening ---------------------------------------------------------------
    @classmethod
    def open(cls, account: Account, *, transcript: Transcript | None = None,
             tls_policy: TlsPolicy | None = None, limits: StageLimits | None = None) -> Session:
        """Connect and greet as msmtp does (within *limits*, if given); on failure
        nothing stays open."""
        if account.tls and tls_policy is None:
            from smtpq.sender.tls import build_policy

            tls_policy = build_policy(account)  # file errors before connecting, as msmtp
        sock, endpoint = dial(account, limits.connect if limits is not None else None)
        session = cls(Connection(sock, endpoint), account, transcript=transcript,
                      tls_policy=tls_policy, limits=limits)
        try:
            if account.tls and not account.tls_starttls:
                session._handshake()
            session.read_greeting()
            session.hello()
            if account.tls and account.tls_starttls:
                session.starttls()
        except BaseException:
            session.close()
            raise
        return session

    def __enter__(self) -> Session:
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        if exc_type is None:
            self.quit()
        else:
            self.close()

    # -- AuthChannel ---------------------------------------------------------
    @property
    def lmtp(self) -> bool:
        return self.account.protocol == Protocol.LMTP

    def command(self, line: str, *, secret: bool = False) -> Reply:
        """Send one command line and read its reply (RFC 4954 §4 lines are redacted)."""
        starts_auth = line[:5].upper() == "AUTH "
        if secret or self._in_auth:
            self.secrets.note_sent(line)
        self.send_line(line, secret=secret or starts_auth or self._in_auth)
        reply = self.read_reply()
        self._in_auth = (starts_auth or self._in_auth) and reply.code == 334
        return reply

    # -- raw lines -------------------------------------------------------------
    def send_line(self, line: str, *, secret: bool = False) -> None:
        """Queue one command line; it leaves with the next read or flush."""
        self.connection.write(line.encode("utf-8") + b"\r\n")
        self.tracer.sent(line, secret=secret)
        if self.limits is not None:
            self._awaiting.append(_awaited(line, secret or self._in_auth))

    def add_secret(self, secret: str | None) -> None:
        """Blank *secret* (a password, a token) from every later reply (``redaction``)."""
        self.secrets.add(secret)

    def read_reply(self) -> Reply:
        """The next reply, every credential this session sent blanked (``redaction``)."""
        if self.limits is not None:
            self._start_deadline(self.limits)
        try:
            if self.on_idle is not None and not self.connection.has_buffered_input():
                self._wait_idle(self.on_idle)
            trace = self.tracer.received if self.tracer else None
            try:
                if not self.secrets:
                    return read_reply(self.connection.readline, trace)
                return self.secrets.reply(read_reply(self.connection.readline,
                                                     self.secrets.tracer(trace)))
            except ReplyFormatError as exc:
                self.broken = True
                raise ProtocolError(exc.message) from exc
            except DeliveryError as exc:
                self._broken_by(exc)
                raise
        finally:
            self.connection.deadline = None

    def _broken_by(self, error: DeliveryError) -> None:
        self.broken = True
        if isinstance(error, StageTimeout):
            self.timed_out = error

    def _start_deadline(self, limits: StageLimits) -> None:
        """The deadline of the reply now awaited (the oldest due; LMTP's further
        end-of-data replies are awaited as the first was)."""
        if self._awaiting:
            self._last_awaited = self._awaiting.pop(0)
        awaited = self._last_awaited
        seconds = limits.end_of_data if awaited == END_OF_DATA else limits.reply
        self.connection.deadline = Deadline(seconds, f"waiting for {awaited}")

    def _wait_idle(self, on_idle: Callable[[], None]) -> None:
        """Send what is queued, then call *on_idle* if no reply comes within ``IDLE_WAIT``."""
        self.connection.flush()
        sock = self.connection.sock
        pending = getattr(sock, "pending", None)  # TLS: bytes decrypted but not yet read
        if pending is not None and pending():
            return
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        if not poller.poll(IDLE_WAIT * 1000):
            on_idle()

    def stream_data(self, chunks: Iterable[bytes], *, flush: bool = True) -> int:
        """Write the mail after a 354, then ``.`` (RFC 5321 §4.1.1.4); return bytes sent.

        Without *flush* the tail stays buffered until the next read (or write
        past the buffer), so that pipelined commands can join it (RFC 2920 §3.1).
        """
        if self.limits is not None:  # RFC 5321 §4.5.3.2.5, at a minimum rate
            self.connection.deadline = Deadline(self.limits.transfer, "sending the mail",
                                                rate=self.limits.min_rate)
        try:
            return self._stream(chunks, flush=flush)
        except StageTimeout as exc:
            self._broken_by(exc)
            raise
        finally:
            self.connection.deadline = None

    def _stream(self, chunks: Iterable[bytes], *, flush: bool) -> int:
        size, tail = 0, b"\r\n"
        for chunk in chunks:
            if not chunk:
                continue
            self.connection.write(chunk)
            self.tracer.data(chunk)
            size += len(chunk)
            tail = bytes(chunk[-2:]) if len(chunk) >= 2 else tail[-1:] + bytes(chunk)
        if tail != b"\r\n":  # the message layer should not leave this to us
            self.connection.write(b"\r\n")
            self.tracer.data(b"\r\n")
        self.tracer.data_end()
        self.send_line(".")
        if flush:
            self.connection.flush()
        return size

    # -- session steps -------------------------------------------------------
    def read_greeting(self) -> Reply:
        reply = self.read_reply()
        self.greeting = reply
        if reply.code != 220:
            raise with_reply(ProtocolError, "cannot get initial OK message from server", reply)
        return reply

    def hello(self) -> Capabilities:
        """EHLO (HELO if refused) or LHLO with ``domain``; sets ``capabilities``."""
        domain = self.account.domain
        if self.lmtp:
            reply = self.command(f"LHLO {domain}")
            if reply.code != 250:
                raise with_reply(ProtocolError, "command LHLO failed", reply)
        else:
            reply = self.command(f"EHLO {domain}")
            if reply.code != 250:  # RFC 5321 §3.2: fall back to HELO
                reply = self.command(f"HELO {domain}")
                if reply.code != 250:
                    raise with_reply(ProtocolError,
                                     "SMTP server does not accept EHLO or HELO commands", reply)
                self._learn(Capabilities())
                return self.capabilities
        self._learn(Capabilities.from_reply(reply))
        return self.capabilities

    def _learn(self, capabilities: Capabilities) -> None:
        self.capabilities = capabilities
        self.auth_methods = capabilities.auth_methods

    def starttls(self) -> None:
        """RFC 3207: STARTTLS, handshake, and EHLO again; never continue in plain text."""
        if not self.capabilities.starttls:
            raise CapabilityMissing("the server does not support TLS via the STARTTLS command")
        reply = self.command("STARTTLS")
        if reply.code != 220:
            raise with_reply(ProtocolError, "command STARTTLS failed", reply)
        if self.connection.has_buffered_input():  # RFC 3207 §6 / CVE-2011-0411 injection
            raise ProtocolError("command STARTTLS failed")
        self._handshake()
        self.capabilities_before_tls = self.capabilities
        self._learn(Capabilities())  # RFC 3207 §4.2: discard what we knew
        self.hello()

    def _handshake(self) -> None:
        from smtpq.sender.tls import TlsSessionInfo, build_policy, start_tls

        policy = self.tls_policy or build_policy(self.account)
        self.connection.flush()
        deadline = None
        if self.limits is not None:
            self.connection.restore_timeout()  # the handshake's own waits use it
            deadline = Deadline(self.limits.reply, "during the TLS handshake")
        tls = start_tls(self.connection.sock, policy, deadline)
        self.connection.replace_socket(tls)
        self.tls_active = True
        self.tls_info = TlsSessionInfo.from_socket(tls)

    def rset(self) -> Reply:
        """RFC 5321 §4.1.1.5: abort the open transaction (before reusing the session)."""
        reply = self.command("RSET")
        if reply.code != 250:
            self.broken = True
            raise with_reply(ProtocolError, "command RSET failed", reply)
        self.transaction_open = False
        return reply

    def ready_for_next(self) -> bool:
        """Make the session usable for another mail; False if it must be closed."""
        if self.broken or self.connection.closed:
            return False
        if self.transaction_open:
            self.rset()
        return True

    def etrn(self, argument: str) -> Reply:
        """RFC 1985 ETRN (``--rmqs``) with msmtp's verdicts on the reply."""
        if not self.capabilities.etrn:
            raise CapabilityMissing("the server does not support Remote Message Queue Starting")
        reply = self.command(f"ETRN {argument}")
        if reply.code in (250, 251, 252, 253):
            return reply
        if reply.code in (458, 459):
            raise with_reply(ServerRejection, "the server is unable to fulfill the request", reply)
        if reply.code in (500, 501):
            raise with_reply(ServerRejection, "invalid argument for Remote Message Queue Starting",
                             reply, ExitCode.EX_DATAERR)
        raise with_reply(ProtocolError, "command ETRN failed", reply)

    def quit(self) -> None:
        """QUIT politely (errors ignored, as msmtp) and close."""
        try:
            if not self.broken and not self.connection.closed:
                self.command("QUIT")
        except DeliveryError:
            pass
        finally:
            self.close()

    def close(self) -> None:
        self.connection.close()
