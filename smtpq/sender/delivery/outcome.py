"""What one delivery attempt amounts to: :class:`DeliveryOutcome`, built for success and failure.

An outcome carries everything msmtp reports about a mail — its exit code, the
server reply it logs (``smtpstatus``/``smtpmsg``), its error text
(``errormsg``), ``mailsize`` and the finished log line — plus what msmtp does
not keep but a queue needs: the fate of every recipient
(:class:`RecipientOutcome`, RFC 5321 §3.3: RCPT replies are per recipient;
RFC 2033 §4.2: LMTP answers the end of data per recipient) and, for failures
that came without a deciding server reply, a :class:`FailureKind`.

Exit codes and texts are msmtp 1.8.23's (reference §4.3/§4.4): they come from
the protocol layer's errors and :meth:`TransactionResult.error`.  The one
outcome msmtp words differently in its log is an LMTP mail refused at the end
of data for some recipients: the log says ``errormsg='delivery to one or more
recipients failed'`` without ``smtpstatus`` (msmtp's ``main``), and an LMTP
success logs no ``smtpstatus`` either (msmtp keeps no reply for it).
"""

from __future__ import annotations

import enum

from smtpq.sender.errors import (
    CapabilityMissing,
    MessageTooLarge,
    NetworkError,
    ProtocolError,
    ServerRejection,
    SmtpqError,
    StageTimeout,
    TlsError,
)
from smtpq.sender.log.line import LogRecord, format_log_line
from smtpq.sender.protocol.reply import HUNG_UP
from smtpq.sender.record import FrozenRecord
from smtpq.sender.sysexits import ExitCode

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (import cost)
if TYPE_CHECKING:
    from collections.abc import Sequence

    from smtpq.sender.config.settings import Account
    from smtpq.sender.protocol.reply import Reply
    from smtpq.sender.protocol.transaction import TransactionResult

#: msmtp's log ``errormsg`` for an LMTP mail some recipients refused after DATA.
LMTP_PARTIAL = "delivery to one or more recipients failed"


# The vocabulary of an attempt, defined here once: the queue stores a recipient's
# RecipientStatus as it is (``recipients.status``) and maps a FailureKind to its
# retry decision (``smtpq.queue.flush.policy``).  Enums, which the queue needs (a
# column type, a value read back): a send loads ``enum`` with Python's socket.py anyway.

class RecipientStatus(enum.StrEnum):
    """One envelope recipient after an attempt, and in the queue until the next one
    (RFC 5321 §3.3: RCPT replies are per recipient)."""

    PENDING = "pending"  # not tried yet, or the attempt broke off before its verdict
    SENT = "sent"  # the server took the mail for this recipient (RCPT and DATA accepted)
    DEFERRED = "deferred"  # a 4xx (or other non-5xx refusal) decided it: try again
    FAILED = "failed"  # a 5xx decided it: give up on this recipient


class FailureKind(enum.StrEnum):
    """A failure without a deciding SMTP reply.

    ``None`` in an outcome means: success, or the server's reply decides.
    """

    HOST_NOT_FOUND = "host-not-found"  # EX_NOHOST
    CONNECT_FAILED = "connect-failed"  # refused, unreachable, proxy failure (75, 69)
    CONNECTION_LOST = "connection-lost"  # I/O error or timeout after connecting (74)
    TLS_FAILED = "tls-failed"  # handshake or certificate check
    PROTOCOL_ERROR = "protocol-error"  # the peer does not speak SMTP
    LOCAL_ERROR = "local-error"  # credentials, missing capability, config, local I/O
    BAD_MESSAGE = "bad-message"  # the mail itself cannot be sent (too large)


class Stage(enum.StrEnum):
    """Where an attempt failed (decides the kind of some failures)."""

    CONNECT = "connect"  # dial, TLS, greeting, EHLO, STARTTLS
    AUTH = "auth"  # capability checks before AUTH, AUTH itself
    TRANSACTION = "transaction"  # MAIL, RCPT, DATA, end of data


# The records below are not dataclasses (``import dataclasses`` and building the
# classes cost ~7 ms of a --send-now): see smtpq.sender.record.

class RecipientOutcome(FrozenRecord):
    """What became of one envelope recipient, and the reply that decided it."""

    __slots__ = ("address", "smtp_message", "smtp_status", "state")
    FIELDS = ("address", "state", "smtp_status", "smtp_message")

    address: str
    state: RecipientStatus
    smtp_status: int | None
    smtp_message: tuple[str, ...]

    def __init__(self, address: str, state: RecipientStatus, smtp_status: int | None = None,
                 smtp_message: tuple[str, ...] = ()) -> None:
        self._freeze(address=address, state=state, smtp_status=smtp_status,
                     smtp_message=smtp_message)

    @classmethod
    def decided_by(cls, address: str, state: RecipientStatus,
                   reply: Reply | None) -> RecipientOutcome:
        if reply is None:
            return cls(address, state)
        return cls(address, state, reply.code, reply.lines)


class DeliveryOutcome(FrozenRecord):
    """One attempt to deliver one mail, as msmtp would report it and as a queue records it."""

    __slots__ = ("envelope_from", "error", "errormsg", "exit_code", "failure", "finished",
                 "log_line", "mailsize", "recipients", "smtp_message", "smtp_status", "started")
    FIELDS = ("exit_code", "envelope_from", "recipients", "smtp_status", "smtp_message",
              "errormsg", "mailsize", "failure", "log_line", "started", "finished", "error")
    EQ_IGNORED = REPR_HIDDEN = frozenset({"error"})

    exit_code: int  # msmtp's exit code for this mail
    envelope_from: str  # "" is the null sender
    recipients: tuple[RecipientOutcome, ...]  # envelope order, duplicates kept
    smtp_status: int | None  # the reply msmtp logs (smtpstatus=), if any
    smtp_message: tuple[str, ...]  # its lines (smtpmsg=), without CRLF
    errormsg: str | None  # msmtp's error text (errormsg=), None on success
    mailsize: int  # msmtp's mailsize of what was sent (0 if DATA never went); logged on success
    failure: FailureKind | None  # set when no server reply decides the failure
    log_line: str  # msmtp's log line without the time stamp
    started: float  # time.time() when the attempt began
    finished: float
    #: The error behind a failure (for the caller's own reporting).
    error: SmtpqError | None

    def __init__(self, exit_code: int, envelope_from: str,
                 recipients: tuple[RecipientOutcome, ...], smtp_status: int | None,
                 smtp_message: tuple[str, ...], errormsg: str | None, mailsize: int,
                 failure: FailureKind | None, log_line: str, started: float, finished: float,
                 error: SmtpqError | None = None) -> None:
        self._freeze(exit_code=exit_code, envelope_from=envelope_from, recipients=recipients,
                     smtp_status=smtp_status, smtp_message=smtp_message, errormsg=errormsg,
                     mailsize=mailsize, failure=failure, log_line=log_line, started=started,
                     finished=finished, error=error)

    @property
    def ok(self) -> bool:
        """msmtp's success: exit code 0, every recipient has the mail."""
        return self.exit_code == ExitCode.EX_OK

    @property
    def delivered(self) -> tuple[str, ...]:
        return tuple(r.address for r in self.recipients if r.state is RecipientStatus.SENT)

    @property
    def undelivered(self) -> tuple[RecipientOutcome, ...]:
        return tuple(r for r in self.recipients if r.state is not RecipientStatus.SENT)

    @property
    def partial(self) -> bool:
        """Some recipients have the mail and some do not (per-recipient policy only)."""
        return bool(self.delivered) and bool(self.undelivered)


# -- recipient fates ---------------------------------------------------------------

def _by_class(reply: Reply) -> RecipientStatus:
    """RFC 5321 §4.2.1: 5yz is permanent; anything else that refused is worth retrying."""
    return RecipientStatus.FAILED if reply.code // 100 == 5 else RecipientStatus.DEFERRED


def _fate(result: TransactionResult, index: int) -> RecipientOutcome:
    """The state of recipient *index* and the reply that decided it."""
    r = result.recipients[index]
    mail = result.mail_reply
    if mail is not None and mail.code != 250:  # MAIL FROM refused: it decides for everyone
        return RecipientOutcome.decided_by(r.address, _by_class(mail), mail)
    if mail is None or r.rcpt_reply is None:  # the transaction stopped before this RCPT
        return RecipientOutcome.decided_by(r.address, RecipientStatus.PENDING, None)
    if not r.accepted:
        return RecipientOutcome.decided_by(r.address, _by_class(r.rcpt_reply), r.rcpt_reply)
    if not result.data_sent:
        data = result.data_reply
        if data is not None and data.code != 354:
            return RecipientOutcome.decided_by(r.address, _by_class(data), data)
        # accepted, but the mail did not go (msmtp: another recipient was refused)
        return RecipientOutcome.decided_by(r.address, RecipientStatus.PENDING, r.rcpt_reply)
    final = r.data_reply
    if final is None:
        return RecipientOutcome.decided_by(r.address, RecipientStatus.PENDING, None)
    state = RecipientStatus.SENT if final.code == 250 else _by_class(final)
    return RecipientOutcome.decided_by(r.address, state, final)


def recipient_outcomes(result: TransactionResult) -> tuple[RecipientOutcome, ...]:
    return tuple(_fate(result, i) for i in range(len(result.recipients)))


def lmtp_refused(result: TransactionResult) -> bool:
    """msmtp's LMTP case: the mail went, and some recipient refused it after DATA."""
    return result.lmtp and result.data_sent and any(
        r.data_reply is None or r.data_reply.code != 250 for r in result.accepted)


# -- failure kinds -----------------------------------------------------------------

_NETWORK_KINDS = {
    ExitCode.EX_NOHOST: FailureKind.HOST_NOT_FOUND,
    ExitCode.EX_TEMPFAIL: FailureKind.CONNECT_FAILED,
    ExitCode.EX_UNAVAILABLE: FailureKind.CONNECT_FAILED,  # proxy failure
    ExitCode.EX_OSERR: FailureKind.LOCAL_ERROR,  # cannot create socket / bind source ip
}


def failure_kind(error: SmtpqError, stage: Stage) -> FailureKind | None:
    """The kind of *error* raised at *stage*; None when its server reply decides."""
    if isinstance(error, StageTimeout):
        # Never connected: unreachable, as a refused connection.  Stalled after
        # connecting: as a lost connection (RFC 5321 §3.8: as a 451), deferred.
        return FailureKind.CONNECT_FAILED if error.connecting else FailureKind.CONNECTION_LOST
    if isinstance(error, NetworkError):
        return _NETWORK_KINDS.get(error.exit_code, FailureKind.CONNECTION_LOST)
    if isinstance(error, TlsError):
        return FailureKind.TLS_FAILED
    if isinstance(error, MessageTooLarge):
        return FailureKind.BAD_MESSAGE
    if stage is Stage.AUTH or isinstance(error, CapabilityMissing):
        return FailureKind.LOCAL_ERROR  # wrong password, method not offered: the user fixes it
    if isinstance(error, ServerRejection | ProtocolError):
        if stage is Stage.CONNECT and (error.smtp_status or 0) >= 500:
            # Greeting, EHLO or STARTTLS refused for good: the session failed, not
            # this mail (a 554 greeting says "no service for you", RFC 5321 §3.1),
            # so no reason to give up on it (Postfix: smtp_skip_5xx_greeting).
            return FailureKind.PROTOCOL_ERROR
        if error.smtp_status:
            return None
        # The peer closed the connection where a reply was due (RFC 5321 §3.8: as a 451).
        hung_up = error.message == HUNG_UP
        return FailureKind.CONNECTION_LOST if hung_up else FailureKind.PROTOCOL_ERROR
    return FailureKind.LOCAL_ERROR  # reading the mail failed, configuration, …


# -- building outcomes -------------------------------------------------------------

class Attempt(FrozenRecord):
    """The fixed facts of one attempt: who it was for and when it ran."""

    __slots__ = ("account", "envelope_from", "finished", "recipients", "started")
    FIELDS = ("account", "envelope_from", "recipients", "started", "finished")

    account: Account
    envelope_from: str
    recipients: tuple[str, ...]
    started: float
    finished: float

    def __init__(self, account: Account, envelope_from: str, recipients: tuple[str, ...],
                 started: float, finished: float) -> None:
        self._freeze(account=account, envelope_from=envelope_from, recipients=recipients,
                     started=started, finished=finished)


def log_line(attempt: Attempt, exit_code: int, *, mailsize: int = 0,
             reply: Sequence[str] = (), errormsg: str | None = None) -> str:
    """msmtp's log line for *attempt* (``from=`` is the envelope-from actually used)."""
    record = LogRecord.for_account(attempt.account, attempt.recipients, exit_code,
                                   mailsize=mailsize, smtp_reply=tuple(reply),
                                   errormsg=errormsg)
    return format_log_line(record.replace(from_=attempt.envelope_from))


def from_error(attempt: Attempt, error: SmtpqError, stage: Stage) -> DeliveryOutcome:
    """The outcome of an attempt that raised *error* (nobody got the mail)."""
    status = getattr(error, "smtp_status", None)
    lines = tuple(getattr(error, "smtp_message", ())) if status else ()
    code = error.exit_code
    return DeliveryOutcome(
        exit_code=code, envelope_from=attempt.envelope_from,
        recipients=tuple(RecipientOutcome(a, RecipientStatus.PENDING) for a in attempt.recipients),
        smtp_status=status if lines else None, smtp_message=lines, errormsg=error.message,
        mailsize=0, failure=failure_kind(error, stage),
        log_line=log_line(attempt, code, reply=lines, errormsg=error.message),
        started=attempt.started, finished=attempt.finished, error=error)


def from_result(attempt: Attempt, result: TransactionResult, mailsize: int) -> DeliveryOutcome:
    """The outcome of a completed transaction (accepted, refused, or partly both)."""
    error = result.error()
    lines: tuple[str, ...]  # the reply msmtp logs (one branch has none: declare, not infer)
    if lmtp_refused(result):
        assert error is not None
        code = error.exit_code
        status, lines, errormsg = None, (), LMTP_PARTIAL
    elif error is not None:
        code = error.exit_code
        status, lines, errormsg = error.smtp_status, error.smtp_message, error.message
    else:
        code, errormsg = ExitCode.EX_OK, None
        final = result.final_replies[-1] if result.final_replies and not result.lmtp else None
        status, lines = (final.code, final.lines) if final else (None, ())
    return DeliveryOutcome(
        exit_code=code, envelope_from=attempt.envelope_from,
        recipients=recipient_outcomes(result), smtp_status=status if lines else None,
        smtp_message=tuple(lines), errormsg=errormsg, mailsize=mailsize, failure=None,
        log_line=log_line(attempt, code, mailsize=mailsize, reply=lines, errormsg=errormsg),
        started=attempt.started, finished=attempt.finished, error=error)
