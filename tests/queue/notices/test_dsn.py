"""Writing a delivery status notification (RFC 3464) down: ``smtpq.queue.notices.dsn``.

What the report says is decided elsewhere (``smtpq.queue.notices.sweep``, proven
end to end in ``test_notices.py``); here: the RFC 3463 code taken from a
reply, and a report that the standard library's ``email`` parser reads back
field for field, whatever the original headers and the server's reply hold.
"""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime, timedelta

import pytest

from smtpq.queue.notices import dsn
from smtpq.queue.states import NoticeKind

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
HEADERS = b"From: me@example.org\nTo: you@example.net\nSubject: caf\xc3\xa9 menu\n\n"


def report(kind: NoticeKind = NoticeKind.FAILED, diagnostic: str | None = "554 5.7.1 spam",
           **fields: object) -> dsn.Report:
    values: dict[str, object] = dict(
        kind=kind, queue_id=7, sender="me@example.org", reporting_mta="host.example.org",
        from_address="MAILER-DAEMON@example.org", arrival=T0,
        recipients=(dsn.RecipientReport("you@example.net", "5.7.1", diagnostic, T0),),
        remote_mta="smtp.example.org", reason=diagnostic or "cannot connect", subject="menu",
        msgid="<m@example.org>", waited=timedelta(hours=4))
    values.update(fields)
    return dsn.Report(**values)  # type: ignore[arg-type]


def parse(data: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(data, policy=email.policy.default)  # type: ignore[return-value]


@pytest.mark.parametrize(("reply", "default", "expected"), [
    ("554 5.7.1 Message rejected as spam", "5.0.0", "5.7.1"),
    ("451 4.7.1 greylisted, try later", "4.4.7", "4.7.1"),
    ("550-5.1.1 first line", "5.0.0", "5.1.1"),
    ("550 unknown user", "5.0.0", "5.0.0"),  # no enhanced code
    ("550 4.1.1 classes disagree", "5.0.0", "5.0.0"),  # RFC 3463 §2: the class must agree
    ("550 5.1.10 three-digit detail", "5.0.0", "5.1.10"),
    (None, "4.4.7", "4.4.7"),
])
def test_the_status_is_the_replys_enhanced_code_else_the_default(reply, default, expected) -> None:
    assert dsn.enhanced_status(reply, default) == expected


def test_a_report_parses_back_as_a_multipart_report_with_every_field() -> None:
    message = parse(dsn.build(report(), HEADERS, full=False, now=T0, message_id="<n@h>"))
    assert message.get_content_type() == "multipart/report"
    assert message.get_param("report-type") == "delivery-status"
    assert (message["Message-ID"], message["References"]) == ("<n@h>", "<m@example.org>")
    text, status, headers = message.iter_parts()
    per_message, per_recipient = status.get_payload()
    assert per_message["Reporting-MTA"] == "dns; host.example.org"
    assert per_message["X-Smtpq-Queue-ID"] == "7"
    assert email.utils.parsedate_to_datetime(per_message["Arrival-Date"]) == T0
    assert dict(per_recipient) == {
        "Final-Recipient": "rfc822; you@example.net", "Action": "failed", "Status": "5.7.1",
        "Remote-MTA": "dns; smtp.example.org", "Diagnostic-Code": "smtp; 554 5.7.1 spam",
        "Last-Attempt-Date": per_recipient["Last-Attempt-Date"]}
    assert "queue id 7" in text.get_content()


def test_eight_bit_original_headers_come_back_byte_for_byte() -> None:
    data = dsn.build(report(), HEADERS, full=False, now=T0)
    headers = parse(data).get_payload()[2]
    assert headers.get_content_type() == "text/rfc822-headers"
    assert headers["Content-Transfer-Encoding"] == "8bit"
    assert HEADERS.rstrip(b"\n") in data


def test_a_reply_with_line_breaks_cannot_add_header_fields() -> None:
    sneaky = "554 5.7.1 no\r\nX-Injected: yes"
    recipient = dsn.RecipientReport("you@example.net", "5.7.1", sneaky, T0)
    data = dsn.build(report(recipients=(recipient,)), HEADERS, full=False, now=T0)
    per_recipient = parse(data).get_payload()[1].get_payload()[1]
    assert per_recipient["X-Injected"] is None
    assert per_recipient["Diagnostic-Code"] == "smtp; 554 5.7.1 no X-Injected: yes"


def test_a_delayed_report_says_until_when_the_queue_keeps_trying() -> None:
    until = T0 + timedelta(days=5)
    data = dsn.build(report(NoticeKind.DELAYED, retry_until=until), HEADERS, full=False, now=T0)
    message = parse(data)
    per_recipient = message.get_payload()[1].get_payload()[1]
    assert per_recipient["Action"] == "delayed"
    assert email.utils.parsedate_to_datetime(per_recipient["Will-Retry-Until"]) == until
    assert message["Subject"] == "Delayed Mail (still being retried)"


def test_a_failure_without_a_reply_has_no_diagnostic_code_but_says_why_in_the_text() -> None:
    data = dsn.build(report(NoticeKind.EXPIRED, diagnostic=None,
                            recipients=(dsn.RecipientReport("you@example.net", "4.4.7", None, None),)),
                     HEADERS, full=False, now=T0)
    text, status, _ = parse(data).iter_parts()
    per_recipient = status.get_payload()[1]
    assert per_recipient["Diagnostic-Code"] is None and per_recipient["Status"] == "4.4.7"
    assert "<you@example.net>: cannot connect" in text.get_content()
    assert "within 4h; smtpq has stopped trying" in " ".join(text.get_content().split())
