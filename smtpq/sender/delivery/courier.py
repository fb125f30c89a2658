"""The delivery engine: one connection per account, reused for many mails.

A :class:`Courier` opens the session for its account in msmtp's order
(``msmtp_sendmail``): connect, TLS, greeting, EHLO, STARTTLS (all in
:meth:`Session.open`), then the DSN check (``the server does not support
DSN``, EX_UNAVAILABLE — before AUTH, as msmtp), then AUTH when ``auth`` is on
(``the server does not support authentication`` without an AUTH capability).
Passwords come where msmtp takes them: ``passwordeval`` ran when the account
was resolved (``--send-now``; the queue's flush leaves it to AUTH); key ring,
netrc and the prompt are asked by
:func:`~smtpq.sender.auth.authenticate.authenticate` only once AUTH needs them.

:meth:`Courier.deliver` sends one mail and never raises for a failed
delivery: every attempt ends in a :class:`~.outcome.DeliveryOutcome`.  The
connection is opened lazily, made ready again with RSET after a refused
transaction (RFC 5321 §4.1.1.5), and reopened when the last one broke.  Use
``Policy.ALL_OR_NOTHING`` for msmtp's behaviour and ``Policy.PER_RECIPIENT``
for a queue.  A queue also gives ``limits`` (``smtpq.sender.protocol.deadlines``):
every network stage of its sessions then has a deadline.  :func:`deliver_once`
is msmtp's whole run for one mail, including when msmtp says QUIT and when it
just closes, with msmtp's timeouts only.  Many mails pipelined over one
courier's connection: :func:`~.pipeline.deliver_all`, built on top of this module.
"""

from __future__ import annotations

import time

from smtpq.sender.delivery.outcome import Attempt, DeliveryOutcome, Stage, from_error, from_result
from smtpq.sender.delivery.sessions import MsmtpSession
from smtpq.sender.errors import CapabilityMissing, DeliveryError, SmtpqError, StageTimeout
from smtpq.sender.message.wire import CHUNK_SIZE, WireEncoder, data_chunks
from smtpq.sender.protocol.transaction import Policy, run_transaction
from smtpq.sender.record import Record
from smtpq.sender.sysexits import ExitCode

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (import cost)
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence
    from typing import BinaryIO

    from smtpq.sender.config.settings import Account
    from smtpq.sender.protocol.deadlines import StageLimits
    from smtpq.sender.protocol.session import Session
    from smtpq.sender.protocol.transcript import Transcript


class OutgoingMail(Record):
    """One mail to send: its envelope and its content, streamed once.

    *content* is the RFC 5322 message as stored or prepared (any line ends;
    the engine does CRLF and dot-stuffing, RFC 5321 §4.5.2): a binary file
    read in chunks or an iterable of byte chunks.  *size*, if given, is checked
    against the server's SIZE limit before MAIL (RFC 1870 §4); msmtp checks nothing.
    A record, not a dataclass (import cost: see smtpq.sender.record).
    """

    __slots__ = ("content", "envelope_from", "recipients", "size")
    FIELDS = ("envelope_from", "recipients", "content", "size")

    def __init__(self, envelope_from: str, recipients: Sequence[str],
                 content: BinaryIO | Iterable[bytes], size: int | None = None) -> None:
        self.envelope_from = envelope_from
        self.recipients = recipients
        self.content = content
        self.size = size


class Courier:
    """Delivers mails for one account over one connection, reopened only when needed."""

    def __init__(self, account: Account, *, transcript: Transcript | None = None,
                 session_class: type[Session] = MsmtpSession,
                 on_idle: Callable[[], None] | None = None,
                 limits: StageLimits | None = None) -> None:
        self.account = account
        self.transcript = transcript
        self.session_class = session_class
        self.session: Session | None = None
        self.stage = Stage.CONNECT  # how far the last open() got
        #: Given to every session opened (``Session.on_idle``).
        self.on_idle = on_idle
        #: Stage deadlines for every session opened (None: msmtp's timeouts only).
        self.limits = limits
        #: The deadline a session of this courier missed: it opens no other.
        self.timed_out: StageTimeout | None = None

    # -- the connection ------------------------------------------------------
    @property
    def connected(self) -> bool:
        s = self.session
        return s is not None and not s.broken and not s.connection.closed

    def open(self) -> None:
        """Connect and authenticate (closing any earlier session); raises SmtpqError.

        Once a session missed a stage deadline, raises that again at once, for good:
        the server stalls, and every further mail would only wait as long.
        """
        if self.session is not None and self.session.timed_out is not None:
            self.timed_out = self.session.timed_out
        self.close(quit=False)
        if self.timed_out is not None:
            raise StageTimeout(self.timed_out.seconds, self.timed_out.waiting_for,
                               connecting=self.timed_out.connecting)
        self.stage = Stage.CONNECT
        try:
            session = self.session_class.open(self.account, transcript=self.transcript,
                                              limits=self.limits)
        except StageTimeout as error:
            self.timed_out = error
            raise
        self.stage = Stage.AUTH
        try:
            self._prepare(session)
        except CapabilityMissing:
            session.quit()  # msmtp: msmtp_endsession(&srv, 1)
            raise
        except BaseException:
            session.close()
            self.timed_out = session.timed_out
            raise
        session.on_idle = self.on_idle
        self.session = session

    def _prepare(self, session: Session) -> None:
        account = self.account
        # RFC 3461 §4: NOTIFY/RET only to a server that announced DSN (msmtp checks first).
        if (account.dsn_notify or account.dsn_return) and not session.capabilities.dsn:
            raise CapabilityMissing("the server does not support DSN")
        if account.auth is None:
            return
        if not session.capabilities.auth:  # RFC 4954 §3
            raise CapabilityMissing("the server does not support authentication")
        from smtpq.sender.auth.authenticate import authenticate

        authenticate(session, account)

    def close(self, *, quit: bool = True) -> None:
        """End the session: QUIT (RFC 5321 §4.1.1.10) if *quit* and usable, then close."""
        session, self.session = self.session, None
        if session is None:
            return
        if quit:
            session.quit()
        else:
            session.close()

    def __enter__(self) -> Courier:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _ready(self) -> Session:
        """The open session, RSET if a transaction is pending; else a fresh one."""
        session = self.session
        if session is not None:
            try:
                if session.ready_for_next():
                    return session
            except DeliveryError:
                pass  # RSET failed: start over on a new connection
        self.open()
        assert self.session is not None
        return self.session

    # -- one mail ------------------------------------------------------------
    def deliver(self, mail: OutgoingMail, *,
                policy: str = Policy.PER_RECIPIENT) -> DeliveryOutcome:
        """Send *mail*; the outcome says what happened, whatever happened."""
        started = time.time()
        try:
            session = self._ready()
        except SmtpqError as error:
            return from_error(self.attempt(mail, started), error, self.stage)
        encoder = WireEncoder()
        try:
            result = run_transaction(
                session, mail.envelope_from, mail.recipients,
                data_chunks(read_mail(mail.content), encoder=encoder), policy=policy,
                dsn_notify=self.account.dsn_notify, dsn_return=self.account.dsn_return,
                size=mail.size)
        except SmtpqError as error:
            if session.transaction_open:
                session.broken = True  # broken off mid-transaction: unknown state
            return from_error(self.attempt(mail, started), error, Stage.TRANSACTION)
        except BaseException:
            session.broken = True  # interrupted (^C) mid-DATA: a QUIT now would be mail text
            raise
        return from_result(self.attempt(mail, started), result, encoder.mailsize)

    def attempt(self, mail: OutgoingMail, started: float) -> Attempt:
        """The facts of an attempt at *mail* that began at *started* and ends now."""
        return Attempt(self.account, mail.envelope_from, tuple(mail.recipients), started,
                       time.time())


def read_mail(content: BinaryIO | Iterable[bytes]) -> Iterator[bytes]:
    """The mail's chunks; a read error is msmtp's ``input error`` (EX_IOERR)."""
    read = getattr(content, "read", None)
    try:
        if read is not None:
            while piece := read(CHUNK_SIZE):
                yield piece
        else:
            yield from content
    except OSError as exc:
        raise DeliveryError("input error", exit_code=ExitCode.EX_IOERR) from exc


def msmtp_would_quit(outcome: DeliveryOutcome) -> bool:
    """msmtp sends QUIT after a success and after a missing capability, else just closes."""
    return outcome.ok or isinstance(outcome.error, CapabilityMissing)


def deliver_once(account: Account, mail: OutgoingMail, *, transcript: Transcript | None = None,
                 session_class: type[Session] = MsmtpSession) -> DeliveryOutcome:
    """msmtp's sendmail mode for one mail: whole-mail policy, one connection, QUIT as msmtp."""
    courier = Courier(account, transcript=transcript, session_class=session_class)
    try:
        outcome = courier.deliver(mail, policy=Policy.ALL_OR_NOTHING)
    except BaseException:
        courier.close(quit=False)
        raise
    courier.close(quit=msmtp_would_quit(outcome))
    return outcome
