"""Delivery status notifications (RFC 3464) as mail, built with the standard library's ``email``.

A notice is ``multipart/report; report-type=delivery-status`` (RFC 6522) with
three parts: a human-readable text, the machine-readable
``message/delivery-status`` (RFC 3464 §2: one per-message block, then one
block per recipient), and the original mail's headers as
``text/rfc822-headers`` — or the whole mail as ``message/rfc822`` when the
sender asked for it with ``RET=FULL`` (RFC 3461 §4.3).  What to report is
decided by ``smtpq.queue.notices.sweep``; this module only writes it down.
"""

from __future__ import annotations

import dataclasses
import email
import email.policy
import io
import re
import textwrap
from datetime import datetime, timedelta
from email.generator import BytesGenerator
from email.message import Message
from email.mime.message import MIMEMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, make_msgid

from smtpq.queue.states import NoticeKind

#: RFC 3463 codes when the reply carries no enhanced status code.
DEFAULT_STATUS = {NoticeKind.FAILED: "5.0.0", NoticeKind.EXPIRED: "4.4.7",  # delivery time expired
                  NoticeKind.DELAYED: "4.0.0"}
SUBJECTS = {NoticeKind.FAILED: "Undelivered Mail Returned to Sender",
            NoticeKind.EXPIRED: "Undelivered Mail Returned to Sender",
            NoticeKind.DELAYED: "Delayed Mail (still being retried)"}
#: RFC 3463 §2: class.subject.detail after the reply code, the class matching the reply's.
_ENHANCED = re.compile(r"^([245])\d\d[ -]([245])\.(\d{1,3})\.(\d{1,3})(?!\S)", re.ASCII)


@dataclasses.dataclass(frozen=True)
class RecipientReport:
    """One recipient the notice is about (RFC 3464 §2.3)."""

    address: str
    status: str  # X.Y.Z (RFC 3463)
    diagnostic: str | None  # the server's reply, e.g. "554 5.7.1 rejected as spam"
    last_attempt: datetime | None


@dataclasses.dataclass(frozen=True)
class Report:
    """Everything a notice says about one queued message."""

    kind: NoticeKind
    queue_id: int
    sender: str  # the envelope sender: the notice's recipient
    reporting_mta: str  # this host's name (RFC 3464 §2.2.2: Reporting-MTA dns; NAME)
    from_address: str  # MAILER-DAEMON@<maildomain or host>
    arrival: datetime
    recipients: tuple[RecipientReport, ...]
    remote_mta: str | None  # the server tried (Remote-MTA), if any
    reason: str  # one line: the last reply or the local error
    subject: str | None
    msgid: str | None  # the original's Message-ID (threads the notice with it)
    waited: timedelta  # from queuing to now
    retry_until: datetime | None = None  # delayed: when the queue gives up (max_age)


def enhanced_status(reply: str | None, default: str) -> str:
    """The RFC 3463 code in *reply* ("554 5.7.1 …" → "5.7.1"), else *default*."""
    found = _ENHANCED.match(reply or "")
    if found is None or found.group(1) != found.group(2):  # RFC 3463 §2: classes agree
        return default
    return ".".join(found.group(2, 3, 4))


def build(report: Report, original: bytes, *, full: bool, now: datetime,
          message_id: str | None = None) -> bytes:
    """The notice as mail bytes (LF line ends); *original* is the mail's header section,
    or the whole mail when *full* (returned as ``message/rfc822``)."""
    outer = MIMEMultipart("report", report_type="delivery-status")
    outer["From"] = f"Mail Delivery System <{report.from_address}>"
    outer["To"] = f"<{report.sender}>"
    outer["Subject"] = SUBJECTS[report.kind]
    outer["Date"] = format_datetime(now.astimezone())
    outer["Message-ID"] = message_id or make_msgid("smtpq-dsn", domain=report.reporting_mta)
    outer["Auto-Submitted"] = "auto-replied"  # RFC 3834 §5: never answer this automatically
    if report.msgid:
        outer["In-Reply-To"] = outer["References"] = _clean(report.msgid)
    outer.preamble = "This is a MIME-encapsulated message (RFC 3464 delivery status)."
    outer.attach(_text_part(human_text(report, full=full)))
    outer.attach(_status_part(report))
    outer.attach(_original_part(original, full=full))
    buffer = io.BytesIO()
    BytesGenerator(buffer, mangle_from_=False, maxheaderlen=78).flatten(outer, linesep="\n")
    return buffer.getvalue()


def human_text(report: Report, *, full: bool = False) -> str:
    """The first part: what happened, for a person (RFC 6522 §3)."""
    what = {
        NoticeKind.FAILED: "could not be delivered to the recipients below: the server "
                           "refused it for good, so smtpq will not try again.",
        NoticeKind.EXPIRED: f"could not be delivered to the recipients below within "
                            f"{_span(report.waited)}; smtpq has stopped trying.",
        NoticeKind.DELAYED: f"has not yet been delivered to the recipients below after "
                            f"{_span(report.waited)}. smtpq keeps trying"
                            + (f" until {format_datetime(report.retry_until)}"
                               if report.retry_until else "")
                            + "; you do not need to send it again.",
    }[report.kind]
    attached = "your message" if full else "the headers of your message"
    paragraphs = [f"This is the mail system (smtpq) at {report.reporting_mta}.",
                  f"Your message (queue id {report.queue_id}) {what}"]
    if report.subject:
        paragraphs.append(f"  Subject: {_clean(report.subject)}")
    paragraphs.append("\n".join(f"<{r.address}>: {_clean(r.diagnostic or report.reason)}"
                                for r in report.recipients))
    paragraphs.append(f"A machine-readable report (RFC 3464) and {attached} follow.")
    return "\n\n".join(p if p.startswith(("<", " ")) else textwrap.fill(p, 72)
                        for p in paragraphs) + "\n"


def _text_part(text: str) -> MIMEText:
    part = MIMEText(text, "plain", "us-ascii" if text.isascii() else "utf-8")
    del part["MIME-Version"]  # once, in the outer header (RFC 2045 §4)
    return part


def _status_part(report: Report) -> Message:
    """``message/delivery-status``: the per-message block, then one per recipient."""
    per_message = _fields([
        ("Reporting-MTA", f"dns; {report.reporting_mta}"),
        ("X-Smtpq-Queue-ID", str(report.queue_id)),  # RFC 3464 §2.4: extension field
        ("Arrival-Date", format_datetime(report.arrival)),
    ])
    blocks: list[Message | str] = [per_message]
    blocks += [_recipient_block(report, r) for r in report.recipients]
    part = Message()
    part["Content-Type"] = "message/delivery-status"
    part.set_payload(blocks)  # a list of header blocks, as email's parser makes it
    return part


def _recipient_block(report: Report, recipient: RecipientReport) -> Message:
    action = "delayed" if report.kind is NoticeKind.DELAYED else "failed"
    fields = [("Final-Recipient", f"rfc822; {recipient.address}"), ("Action", action),
              ("Status", recipient.status)]
    if report.remote_mta:
        fields.append(("Remote-MTA", f"dns; {report.remote_mta}"))
    if recipient.diagnostic:
        fields.append(("Diagnostic-Code", f"smtp; {recipient.diagnostic}"))
    if recipient.last_attempt is not None:
        fields.append(("Last-Attempt-Date", format_datetime(recipient.last_attempt)))
    if report.retry_until is not None:
        fields.append(("Will-Retry-Until", format_datetime(report.retry_until)))
    return _fields(fields)


def _fields(pairs: list[tuple[str, str]]) -> Message:
    block = Message()
    for name, value in pairs:
        block[name] = _clean(value)
    return block


def _original_part(original: bytes, *, full: bool) -> Message:
    if full:
        # compat32 keeps 8-bit bytes as they were (surrogateescape) when regenerated.
        return MIMEMessage(email.message_from_bytes(original, policy=email.policy.compat32))
    part = Message()
    part["Content-Type"] = "text/rfc822-headers"
    part["Content-Transfer-Encoding"] = "7bit" if original.isascii() else "8bit"
    part.set_payload(original.decode("ascii", "surrogateescape"))
    return part


def _clean(text: str) -> str:
    """One line of printable text: a reply's line breaks and controls never reach a header."""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())


def _span(value: timedelta) -> str:
    from smtpq.queue.durations import format_duration

    return format_duration(timedelta(seconds=int(value.total_seconds())))
