"""Many mails over one connection, pipelined across mails (RFC 2920).

:func:`deliver_all` sends a stream of mails through a :class:`~.courier.Courier`
and yields one outcome per mail, in order.  Where the server offers
PIPELINING, the next mail's envelope (RSET if the last transaction was
refused, MAIL, RCPT…, DATA) leaves in the same write as this mail's content
and end of data — RFC 2920 §3.1: "the actual transfer of message content is
explicitly allowed to be the first 'command' in a group" — so a mail costs one
round trip.  The content itself still waits for its 354 (DATA ends a group).
An outcome is yielded once the write after it has gone, so the caller records
it while the server works.  A server without PIPELINING, or an envelope of
more than 100 commands, gets one mail at a time (``Courier.deliver``).

A mail whose envelope went out behind the previous end of data and met a
connection that was closing (a 421 or a drop at that end of data, an idle
timeout) is sent again, once, on a new connection: nothing of it was taken,
since its content never left before the 354.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from smtpq.sender.delivery.courier import read_mail
from smtpq.sender.delivery.outcome import DeliveryOutcome, Stage, from_error, from_result
from smtpq.sender.errors import DeliveryError, SmtpqError
from smtpq.sender.message.wire import WireEncoder, data_chunks
from smtpq.sender.protocol.transaction import Policy, Transaction

if TYPE_CHECKING:
    from collections.abc import Generator, Iterable, Iterator

    from smtpq.sender.delivery.courier import Courier, OutgoingMail
    from smtpq.sender.protocol.session import Session


class _Sending:
    """A mail on its way: its transaction, its encoder (``mailsize``), when it started."""

    __slots__ = ("encoder", "mail", "started", "transaction")

    def __init__(self, mail: OutgoingMail, transaction: Transaction, started: float) -> None:
        self.mail, self.transaction, self.started = mail, transaction, started
        self.encoder = WireEncoder()


def deliver_all(courier: Courier, mails: Iterable[OutgoingMail], *,
                policy: str = Policy.PER_RECIPIENT) -> Generator[DeliveryOutcome, None, None]:
    """Send every mail of *mails* through *courier*; one outcome per mail, in order.

    Closing the iterator early abandons the connection (it is closed without
    QUIT, and the courier opens a new one for its next mail): replies may be due.
    """
    return _Stream(courier, policy).run(iter(mails))


class _Stream:
    def __init__(self, courier: Courier, policy: str) -> None:
        self.courier, self.policy = courier, policy
        self.in_flight: _Sending | None = None  # its "." is written, its reply not yet read
        self.ready: list[DeliveryOutcome] = []  # outcomes not yet handed out

    def run(self, mails: Iterator[OutgoingMail]) -> Generator[DeliveryOutcome, None, None]:
        done = False
        try:
            while (mail := self._next(mails)) is not None:
                yield from self._send(mail)
            self._finish_in_flight()
            yield from self._hand_out()
            done = True
        finally:
            if not done and self.courier.session is not None:
                # Stopped early: replies may be due (a mail in flight, an envelope
                # sent ahead), so the session cannot carry another command.
                self.courier.session.broken = True

    def _next(self, mails: Iterator[OutgoingMail]) -> OutgoingMail | None:
        try:
            return next(mails)
        except StopIteration:
            return None
        except BaseException:
            self._finish_in_flight()  # what went out must still get its outcome
            raise

    def _hand_out(self) -> Iterator[DeliveryOutcome]:
        while self.ready:
            yield self.ready.pop(0)

    def _send(self, mail: OutgoingMail) -> Iterator[DeliveryOutcome]:
        """Queue *mail*'s envelope, hand out what is ready while the server works, then
        read the previous mail's end of data and this envelope's replies."""
        session = self._session(mail)
        sending = self._start(mail, session) if session is not None else None
        if session is None or sending is None:
            yield from self._hand_out()
            return
        if not sending.transaction.pipelinable:
            self._finish_in_flight()
            yield from self._hand_out()
            self.ready.append(self.courier.deliver(mail, policy=self.policy))
            return
        reset = session.transaction_open and self.in_flight is None
        try:
            sending.transaction.send_envelope(reset=reset)
            session.connection.flush()
        except DeliveryError:
            session.broken = True  # the replies due will tell what became of the mail in flight
        yield from self._hand_out()
        self._envelope_replies(sending, session, reset)

    def _start(self, mail: OutgoingMail, session: Session) -> _Sending | None:
        """*mail*'s transaction; None when it cannot go (its outcome is ready)."""
        started = time.time()
        account = self.courier.account
        try:
            transaction = Transaction(
                session, mail.envelope_from, mail.recipients, policy=self.policy,
                dsn_notify=account.dsn_notify, dsn_return=account.dsn_return, size=mail.size)
        except SmtpqError as error:  # DSN not offered, over SIZE: nothing was sent
            self.ready.append(from_error(self.courier.attempt(mail, started), error,
                                         Stage.TRANSACTION))
            return None
        return _Sending(mail, transaction, started)

    def _session(self, mail: OutgoingMail) -> Session | None:
        """The open session (a new one if the last broke); None: *mail*'s outcome is ready."""
        if self.courier.connected:
            assert self.courier.session is not None
            return self.courier.session
        self._finish_in_flight()
        started = time.time()
        try:
            self.courier.open()
        except SmtpqError as error:
            self.ready.append(from_error(self.courier.attempt(mail, started), error,
                                         self.courier.stage))
            return None
        assert self.courier.session is not None
        return self.courier.session

    def _envelope_replies(self, sending: _Sending, session: Session, reset: bool) -> None:
        first_went = self._finish_in_flight()
        mail = sending.mail
        if not first_went:  # the previous mail broke the connection: this one starts afresh
            self.ready.append(self.courier.deliver(mail, policy=self.policy))
            return
        try:
            sending.transaction.read_envelope(reset=reset)
        except DeliveryError as error:
            if sending.transaction.result.mail_reply is None:  # nothing said about this mail
                session.broken = True
                self.ready.append(self.courier.deliver(mail, policy=self.policy))
            else:
                session.broken = True  # broken off mid-transaction: unknown state
                self.ready.append(from_error(self.courier.attempt(mail, sending.started),
                                             error, Stage.TRANSACTION))
            return
        self._data(sending, session)

    def _data(self, sending: _Sending, session: Session) -> None:
        """The content and end of data (left in the write buffer), or the refusal's outcome."""
        mail, transaction = sending.mail, sending.transaction
        chunks = data_chunks(read_mail(mail.content), encoder=sending.encoder)
        try:
            went = transaction.send_data(chunks, flush=False)
        except SmtpqError as error:
            session.broken = True  # broken off mid-DATA
            self.ready.append(from_error(self.courier.attempt(mail, sending.started), error,
                                         Stage.TRANSACTION))
            return
        except BaseException:
            session.broken = True  # interrupted mid-DATA: a QUIT now would be mail text
            raise
        if went:
            self.in_flight = sending
        else:
            self.ready.append(from_result(self.courier.attempt(mail, sending.started),
                                          transaction.result, 0))

    def _finish_in_flight(self) -> bool:
        """Read the end-of-data reply of the mail in flight; False if the connection broke."""
        sending, self.in_flight = self.in_flight, None
        if sending is None:
            return True
        attempt_of, session = self.courier.attempt, self.courier.session
        try:
            result = sending.transaction.read_end()
        except SmtpqError as error:
            if session is not None:
                session.broken = True
            self.ready.append(from_error(attempt_of(sending.mail, sending.started), error,
                                         Stage.TRANSACTION))
            return False
        except BaseException:
            if session is not None:
                session.broken = True  # interrupted while a reply was due
            raise
        self.ready.append(from_result(attempt_of(sending.mail, sending.started), result,
                                      sending.encoder.mailsize))
        return True
