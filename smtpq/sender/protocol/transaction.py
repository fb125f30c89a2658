"""One mail transaction: MAIL, RCPT…, DATA (RFC 5321 §3.3), pipelined (RFC 2920).

With PIPELINING, MAIL, the RCPTs and DATA leave in batches of at most 100
commands (msmtp's SMTP_PIPELINE_LIMIT) in one write each; without it they go
one at a time.  :class:`Transaction` exposes the steps, so that a caller can
pipeline across mails: the next envelope behind this mail's end of data.  The
mail is streamed from an iterator of byte chunks that the message layer has
already CRLF-normalised and dot-stuffed (RFC 5321 §4.5.2); this module only
adds the final ``.``.  LMTP gets one end-of-data reply per
accepted recipient (RFC 2033 §4.2).

Two policies (:class:`Policy`):

* ``ALL_OR_NOTHING`` (msmtp): stop at the first refused command; DATA content
  is sent only if every recipient was accepted.
* ``PER_RECIPIENT`` (the queue): ask for every recipient; send the mail if at
  least one was accepted; report each recipient's outcome.

:class:`TransactionResult` keeps every reply, and ``error()`` reproduces
msmtp's whole-mail verdict with its exact texts and exit codes.
"""

from __future__ import annotations

from smtpq.sender.errors import (
    CapabilityMissing,
    DeliveryError,
    MessageTooLarge,
    ProtocolError,
    ServerRejection,
)
from smtpq.sender.protocol.reply import Reply, rejection, with_reply
from smtpq.sender.record import Record

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (import cost)
if TYPE_CHECKING:
    from collections.abc import Iterable

    from smtpq.sender.protocol.session import Session

PIPELINE_LIMIT = 100
_ACCEPTED_RCPT = (250, 251)


class Policy:
    """How a transaction treats refused recipients (constants, not an ``enum``:
    ``import enum`` costs ~3 ms of a --send-now; see smtpq.sender.sysexits)."""

    ALL_OR_NOTHING = "all-or-nothing"
    PER_RECIPIENT = "per-recipient"


# The results are records, not dataclasses (``import dataclasses`` pulls in
# ``inspect``: ~7 ms of a --send-now); see smtpq.sender.record.

class RecipientResult(Record):
    """What the server said about one recipient."""

    __slots__ = ("address", "data_reply", "rcpt_reply")
    FIELDS = ("address", "rcpt_reply", "data_reply")

    def __init__(self, address: str, rcpt_reply: Reply | None = None,
                 data_reply: Reply | None = None) -> None:
        self.address = address
        self.rcpt_reply = rcpt_reply  # None: RCPT not sent or not answered
        self.data_reply = data_reply  # end-of-data reply that applies to this recipient

    @property
    def accepted(self) -> bool:
        return self.rcpt_reply is not None and self.rcpt_reply.code in _ACCEPTED_RCPT

    @property
    def delivered(self) -> bool:
        return self.accepted and self.data_reply is not None and self.data_reply.code == 250

    @property
    def reply(self) -> Reply | None:
        """The reply that decides this recipient's fate (end-of-data, else RCPT)."""
        return self.data_reply if self.accepted and self.data_reply else self.rcpt_reply


class TransactionResult(Record):
    """Every reply of one transaction, in protocol order."""

    __slots__ = ("bytes_sent", "data_reply", "data_sent", "final_replies", "lmtp", "mail_reply",
                 "recipients", "sender")
    FIELDS = ("sender", "recipients", "lmtp", "mail_reply", "data_reply", "final_replies",
              "data_sent", "bytes_sent")

    def __init__(self, sender: str, recipients: list[RecipientResult], lmtp: bool = False,
                 mail_reply: Reply | None = None, data_reply: Reply | None = None,
                 final_replies: list[Reply] | None = None, data_sent: bool = False,
                 bytes_sent: int = 0) -> None:
        self.sender = sender
        self.recipients = recipients
        self.lmtp = lmtp
        self.mail_reply = mail_reply
        self.data_reply = data_reply  # reply to the DATA command (354 wanted)
        self.final_replies: list[Reply] = [] if final_replies is None else final_replies
        self.data_sent = data_sent
        self.bytes_sent = bytes_sent

    @property
    def accepted(self) -> list[RecipientResult]:
        return [r for r in self.recipients if r.accepted]

    @property
    def delivered(self) -> list[RecipientResult]:
        return [r for r in self.recipients if r.delivered]

    @property
    def last_reply(self) -> Reply | None:
        """The reply msmtp logs as ``smtpstatus``/``smtpmsg``: the deciding one."""
        error = self.error()
        if error is not None:
            return Reply(error.smtp_status, error.smtp_message) if error.smtp_status else None
        return self.final_replies[-1] if self.final_replies else None

    def error(self) -> DeliveryError | None:
        """msmtp's error for the whole mail, or None if it was delivered to everyone."""
        if self.mail_reply is None or self.mail_reply.code != 250:
            reply = self.mail_reply or Reply(0, ())
            return rejection(f"envelope from address {self.sender} "
                             "not accepted by the server", reply)
        for recipient in self.recipients:
            if not recipient.accepted:
                reply = recipient.rcpt_reply or Reply(0, ())
                return rejection(f"recipient address {recipient.address} "
                                 "not accepted by the server", reply)
        if self.data_reply is None or self.data_reply.code != 354:
            return rejection("the server does not accept mail data",
                             self.data_reply or Reply(0, ()))
        return self._end_of_data_error()

    def _end_of_data_error(self) -> DeliveryError | None:
        if not self.lmtp:
            final = self.final_replies[0] if self.final_replies else None
            if final is not None and final.code == 250:
                return None
            return with_reply(ServerRejection, "the server did not accept the mail", final)
        for recipient in self.recipients:
            if recipient.data_reply is None or recipient.data_reply.code != 250:
                return with_reply(ServerRejection, "the server refuses to send the mail to "
                                  f"{recipient.address}", recipient.data_reply)
        return None

    def raise_for_msmtp(self) -> Reply | None:
        """Raise msmtp's error, else return the final reply (for the log line)."""
        error = self.error()
        if error is not None:
            raise error
        return self.last_reply


def _mail_command(sender: str, dsn_return: str | None) -> str:
    path = "" if sender in ("", "<>") or sender.upper() == "MAILER-DAEMON" else sender
    return f"MAIL FROM:<{path}>" + (f" RET={dsn_return}" if dsn_return else "")


def _rcpt_command(address: str, dsn_notify: str | None) -> str:
    return f"RCPT TO:<{address}>" + (f" NOTIFY={dsn_notify}" if dsn_notify else "")


class _Run:
    """The state of one transaction while its commands and replies go back and forth."""

    def __init__(self, session: Session, result: TransactionResult, policy: str) -> None:
        self.session = session
        self.result = result
        self.policy = policy

    def refused(self) -> bool:
        """True once msmtp would stop (or, per recipient, nothing can succeed)."""
        r = self.result
        if r.mail_reply is not None and r.mail_reply.code != 250:
            return True
        answered = [x for x in r.recipients if x.rcpt_reply is not None]
        if self.policy == Policy.ALL_OR_NOTHING:
            return any(not x.accepted for x in answered)
        return len(answered) == len(r.recipients) and not r.accepted

    def record(self, index: int, reply: Reply) -> None:
        if index == 0:
            self.result.mail_reply = reply
        elif index <= len(self.result.recipients):
            self.result.recipients[index - 1].rcpt_reply = reply
        else:
            self.result.data_reply = reply

    def envelope(self, commands: list[str], pipelining: bool) -> None:
        limit = PIPELINE_LIMIT if pipelining else 1
        for start in range(0, len(commands), limit):
            batch = commands[start:start + limit]
            for line in batch:
                self.session.send_line(line)
            for offset in range(len(batch)):
                self.record(start + offset, self.session.read_reply())
            if self.refused():
                return

    def data_wanted(self) -> bool:
        r = self.result
        if r.data_reply is None or r.data_reply.code != 354 or self.refused():
            return False
        if self.policy == Policy.ALL_OR_NOTHING:
            return all(x.accepted for x in r.recipients)
        return bool(r.accepted)

    def end_of_data(self) -> None:
        r = self.result
        targets = r.accepted if r.lmtp else [None]
        for recipient in targets:
            reply = self.session.read_reply()
            r.final_replies.append(reply)
            for each in ([recipient] if recipient else r.accepted):
                each.data_reply = reply


class Transaction:
    """One mail transaction, step by step; :func:`run_transaction` runs every step.

    The steps let a caller pipeline across mails (RFC 2920 §3.1: the mail
    content may be the first "command" of a group): the next mail's envelope
    can follow this one's end of data in the same write, before its reply is read.
    """

    def __init__(self, session: Session, sender: str, recipients: Iterable[str], *,
                 policy: str = Policy.ALL_OR_NOTHING, dsn_notify: str | None = None,
                 dsn_return: str | None = None, size: int | None = None) -> None:
        caps = session.capabilities
        if (dsn_notify or dsn_return) and not caps.dsn:
            raise CapabilityMissing("the server does not support DSN")
        if size is not None and caps.size and size > caps.size:
            raise MessageTooLarge(f"the mail is {size} bytes, but the server accepts at most "
                                  f"{caps.size} bytes")
        self.session = session
        self.result = TransactionResult(sender, [RecipientResult(a) for a in recipients],
                                        lmtp=session.lmtp)
        self._run = _Run(session, self.result, policy)
        self._commands = [_mail_command(sender, dsn_return)]
        self._commands += [_rcpt_command(r.address, dsn_notify) for r in self.result.recipients]
        self._commands.append("DATA")

    @property
    def pipelinable(self) -> bool:
        """Whether the whole envelope fits in one pipelined group."""
        return self.session.capabilities.pipelining and len(self._commands) <= PIPELINE_LIMIT

    def envelope(self) -> None:
        """MAIL, RCPT…, DATA and their replies, pipelined in groups when the server can."""
        self.session.transaction_open = True
        self._run.envelope(self._commands, self.session.capabilities.pipelining)

    def send_envelope(self, *, reset: bool = False) -> None:
        """Queue the whole envelope without reading (``pipelinable`` only); with *reset*,
        an RSET first, to end a transaction the server refused (RFC 5321 §4.1.1.5)."""
        assert self.pipelinable
        if reset:
            self.session.send_line("RSET")
        self.session.transaction_open = True
        for line in self._commands:
            self.session.send_line(line)

    def read_envelope(self, *, reset: bool = False) -> None:
        """The replies to what ``send_envelope`` queued."""
        if reset:
            reply = self.session.read_reply()
            if reply.code != 250:
                self.session.broken = True
                raise with_reply(ProtocolError, "command RSET failed", reply)
        for index in range(len(self._commands)):
            self._run.record(index, self.session.read_reply())

    def send_data(self, chunks: Iterable[bytes], *, flush: bool = True) -> bool:
        """After the replies: the content and ``.`` if the mail is to go; whether it went.

        Without *flush* the end of data stays in the write buffer, for the next
        mail's envelope to join it.
        """
        result = self.result
        if self._run.data_wanted():
            result.bytes_sent = self.session.stream_data(chunks, flush=flush)
            result.data_sent = True
            return True
        if result.data_reply is not None and result.data_reply.code == 354:
            self.session.broken = True  # in DATA mode with nothing to send: only closing helps
        return False

    def read_end(self) -> TransactionResult:
        """The end-of-data reply (one per accepted recipient in LMTP); the transaction is over."""
        self._run.end_of_data()
        self.session.transaction_open = False
        return self.result


def run_transaction(session: Session, sender: str, recipients: Iterable[str],
                    chunks: Iterable[bytes], *, policy: str = Policy.ALL_OR_NOTHING,
                    dsn_notify: str | None = None, dsn_return: str | None = None,
                    size: int | None = None) -> TransactionResult:
    """Send one mail; see the module docstring.  I/O failures raise DeliveryError."""
    transaction = Transaction(session, sender, recipients, policy=policy,
                              dsn_notify=dsn_notify, dsn_return=dsn_return, size=size)
    transaction.envelope()
    if transaction.send_data(chunks):
        transaction.read_end()
    return transaction.result
