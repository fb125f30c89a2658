"""Never silent: mail that fails for good, expires or is delayed comes back to its sender.

Real ``smtpq-sendmail`` and ``smtpq flush`` processes against a real aiosmtpd
server on 127.0.0.1.  The delivery status notification (RFC 3464) is queued
like any mail and goes out through the same account, so it arrives at the
sender's mailbox on the same server, with the null envelope sender
(MAIL FROM:<>, RFC 5321 §6.1), and the standard library's ``email`` reads it
as a valid ``multipart/report``.  Never a notice to the null sender, never a
notice about a notice, never two for one failure; ``notify_command`` runs once
per event with the facts in its environment, and whatever it does, the queue
goes on.
"""

from __future__ import annotations

import email
import email.policy
import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.support.aiosmtpd_server import Received, RecordingHandler
from tests.support.queue_home import QueueHome, server_at, wait_until  # noqa: F401

MAIL = (b"From: me@example.org\nTo: you@example.net\nSubject: the report\n"
        b"Message-ID: <original@example.org>\n\nthe body of the mail\n")
#: How aiosmtpd records MAIL FROM:<>.
NULL_SENDER = ("", "<>")


class RefusingHandler(RecordingHandler):
    """Refuses every mail at the end of DATA with *reply*, except notices (null sender),
    which it takes (the sender's mailbox is on the same server)."""

    def __init__(self, reply: str, **replies: object) -> None:
        super().__init__(**replies)  # type: ignore[arg-type]
        self.reply = reply

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        await super().handle_DATA(server, session, envelope)
        return "250 2.0.0 queued" if envelope.mail_from in NULL_SENDER else self.reply


def greylisting() -> RecordingHandler:
    """A server that answers later@example.net's RCPT with 451 (and takes everything else)."""
    return RecordingHandler(rcpt_replies={"later@example.net": "451 4.7.1 greylisted"})


@pytest.fixture
def home(tmp_path: Path) -> Iterator[BouncingHome]:
    home = BouncingHome(tmp_path)
    yield home
    home.kill_flushers()


class BouncingHome(QueueHome):
    """A ``QueueHome`` with smtpq's default ``bounce = "sender"`` (the shared helper turns
    bounces off for the tests that are not about them)."""

    def configure(self, **queue: str | int) -> None:
        queue.setdefault("bounce", "sender")
        super().configure(**queue)


def flush(home: QueueHome, *args: str) -> str:
    """Run ``smtpq flush ARGS`` (whatever its exit status); its stderr."""
    result = home.smtpq("flush", *args)
    return result.stderr.decode()


def notices(server) -> list[Received]:  # type: ignore[no-untyped-def]
    """The mails with the null envelope sender the server took."""
    return [m for m in server.messages if m.mail_from in NULL_SENDER]


def parsed(received: Received) -> EmailMessage:
    message = email.message_from_bytes(received.data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def report_parts(message: EmailMessage) -> tuple[EmailMessage, list, EmailMessage]:  # type: ignore[type-arg]
    """(text part, delivery-status blocks, returned original) of a valid RFC 3464 report."""
    assert message.get_content_type() == "multipart/report"
    assert message.get_param("report-type") == "delivery-status"
    text, status, original = message.iter_parts()
    assert text.get_content_type() == "text/plain"
    assert status.get_content_type() == "message/delivery-status"
    return text, status.get_payload(), original  # type: ignore[return-value]


def columns(home: QueueHome, message_id: int) -> dict[str, object]:
    """The notice columns of one message, read straight from the database."""
    with sqlite3.connect(home.database) as db:
        db.row_factory = sqlite3.Row
        row = db.execute("SELECT status, notice_of, bounced, warned FROM messages WHERE id = ?",
                         (message_id,)).fetchone()
    return dict(row)


def hook(home: QueueHome, body: str = "") -> Path:
    """A notify_command script that appends its SMTPQ_NOTIFY_* variables to a log, one block
    per run; *body* runs after that."""
    log = home.root / "notify.log"
    script = home.root / "notify.sh"
    script.write_text(f"#!/bin/sh\n{{ env | grep '^SMTPQ_NOTIFY_' | sort; echo; }} >> {log}\n"
                      f"{body}\n")
    script.chmod(0o755)
    return script


def hook_runs(home: QueueHome) -> list[dict[str, str]]:
    log = home.root / "notify.log"
    if not log.exists():
        return []
    blocks = [b for b in log.read_text().split("\n\n") if b.strip()]
    return [dict(line.removeprefix("SMTPQ_NOTIFY_").split("=", 1) for line in b.splitlines())
            for b in blocks]


def running(pid: int) -> bool:
    """Whether *pid* is a live process (a zombie nobody reaped yet is not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


def wait_past(seconds: float) -> None:
    """Let *seconds* of queue time pass (a setting under test is that short)."""
    time.sleep(seconds)


# -- bounces -----------------------------------------------------------------------------

def test_a_mail_refused_for_good_comes_back_as_one_rfc3464_report_to_its_sender(
        home, server_at) -> None:
    server = server_at(handler=RefusingHandler("554 5.7.1 Message rejected as spam"))
    home.account(server.port)
    home.sendmail(MAIL, "-i", "you@example.net")

    flush(home)

    (dsn,) = notices(server)
    assert dsn.rcpt_tos == ["me@example.org"]  # the envelope sender, through the same server
    message = parsed(dsn)
    assert message["To"].addresses[0].addr_spec == "me@example.org"
    assert message["From"].addresses[0].username == "MAILER-DAEMON"
    assert message["Auto-Submitted"] == "auto-replied"  # RFC 3834
    assert message["In-Reply-To"] == "<original@example.org>"
    text, (per_message, per_recipient), original = report_parts(message)
    assert per_message["Reporting-MTA"].startswith("dns; ")
    assert per_message["Arrival-Date"]
    assert per_recipient["Final-Recipient"] == "rfc822; you@example.net"
    assert per_recipient["Action"] == "failed"
    assert per_recipient["Status"] == "5.7.1"
    assert per_recipient["Remote-MTA"] == "dns; 127.0.0.1"
    assert per_recipient["Diagnostic-Code"] == "smtp; 554 5.7.1 Message rejected as spam"
    assert per_recipient["Last-Attempt-Date"]
    assert "554 5.7.1 Message rejected as spam" in text.get_content()
    # The original headers only: the sender did not ask for RET=FULL.
    assert original.get_content_type() == "text/rfc822-headers"
    returned = original.get_payload(decode=True)
    assert b"Subject: the report" in returned
    assert b"the body of the mail" not in returned


def test_the_notice_is_recorded_as_one_about_the_original(home, server_at) -> None:
    server = server_at(handler=RefusingHandler("554 5.7.1 rejected"))
    home.account(server.port)
    home.sendmail(MAIL, "-i", "you@example.net")

    flush(home)

    original, notice = home.messages()
    assert (original.status.value, notice.status.value) == ("failed", "sent")
    assert columns(home, original.id)["bounced"] is not None
    assert columns(home, notice.id)["notice_of"] == original.id
    assert (notice.envelope_from, notice.recipients) == ("", ("me@example.org",))


class AnnouncesDsn(RecordingHandler):
    """Announces DSN (RFC 3461), then refuses every MAIL with DSN parameters for good
    (aiosmtpd's 555: parameters not implemented); takes mail without them."""

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802
        session.host_name = hostname
        return [*responses[:-1], "250-DSN", responses[-1]]


def test_with_ret_full_the_whole_mail_comes_back(home, server_at) -> None:
    server = server_at(handler=AnnouncesDsn())
    home.account(server.port, "dsn_return full")  # RET=FULL (RFC 3461 §4.3)
    home.sendmail(MAIL, "-i", "you@example.net")

    flush(home)

    (dsn,) = notices(server)
    _, (_, per_recipient), original = report_parts(parsed(dsn))
    assert per_recipient["Status"] == "5.0.0"  # 555 without an enhanced code
    assert original.get_content_type() == "message/rfc822"
    (returned,) = original.iter_parts()
    assert returned["Subject"] == "the report"
    assert returned.get_content().strip() == "the body of the mail"
    # The notice asks for no notice about itself (RFC 3461 §6.2): no RET, no NOTIFY.
    assert dsn.mail_options == [] and dsn.rcpt_options == [[]]


def test_mail_deferred_until_it_expires_comes_back_once_with_its_last_reply(
        home, server_at) -> None:
    server = server_at(handler=greylisting())
    home.account(server.port)
    # A test about expiry; max_age leaves a loaded machine time to try once before it.
    home.configure(max_age="8s", notify_command=str(hook(home)))
    home.sendmail(MAIL, "-i", "later@example.net")

    flush(home)
    assert notices(server) == []  # deferred: not yet a failure
    assert home.detail(1).status.value == "deferred"
    queued_at = home.detail(1).queued_at
    wait_until(lambda: datetime.now(UTC) > queued_at + timedelta(seconds=8.1), timeout=30,
               message="max_age to pass")
    flush(home, "--now")
    flush(home, "--now")

    (dsn,) = notices(server)
    _, (_, per_recipient), _ = report_parts(parsed(dsn))
    assert per_recipient["Final-Recipient"] == "rfc822; later@example.net"
    assert (per_recipient["Action"], per_recipient["Status"]) == ("failed", "4.7.1")
    assert per_recipient["Diagnostic-Code"] == "smtp; 451 4.7.1 greylisted"
    assert [m.status.value for m in home.messages()] == ["expired", "sent"]
    (run,) = hook_runs(home)
    assert (run["ID"], run["STATUS"], run["RECIPIENTS"]) == ("1", "expired", "later@example.net")


def test_mail_from_the_null_sender_never_gets_a_notice(home, server_at) -> None:
    server = server_at(handler=RecordingHandler(
        rcpt_replies={"bad@example.net": "550 5.1.1 unknown"}))
    home.account(server.port)
    home.sendmail(MAIL, "-i", "-f", "<>", "bad@example.net")

    flush(home)
    flush(home)

    assert [m.status.value for m in home.messages()] == ["failed"]
    assert server.messages == []


def test_a_notice_that_fails_itself_is_only_recorded(home, server_at) -> None:
    # The sender's own mailbox refuses too: the bounce bounces.
    server = server_at(handler=RecordingHandler(rcpt_replies={
        "bad@example.net": "550 5.1.1 unknown", "me@example.org": "550 5.1.1 no such mailbox"}))
    home.account(server.port)
    home.sendmail(MAIL, "-i", "bad@example.net")

    for _ in range(3):
        flush(home, "--now")

    original, notice = home.messages()
    assert (original.status.value, notice.status.value) == ("failed", "failed")
    assert columns(home, notice.id)["notice_of"] == original.id
    assert columns(home, notice.id)["bounced"] is None  # nothing was made of it


def test_flushing_again_never_makes_a_second_notice(home, server_at) -> None:
    server = server_at(handler=RefusingHandler("554 5.7.1 rejected"))
    home.account(server.port)
    home.sendmail(MAIL, "-i", "you@example.net")

    for _ in range(3):
        flush(home, "--now")

    assert len(notices(server)) == 1
    assert len(home.messages()) == 2


def test_a_retried_mail_that_fails_again_gets_a_new_notice(home, server_at) -> None:
    server = server_at(handler=RefusingHandler("554 5.7.1 rejected"))
    home.account(server.port)
    home.sendmail(MAIL, "-i", "you@example.net")
    flush(home)

    assert home.smtpq("retry", "1").returncode == 0
    assert columns(home, 1)["bounced"] is None
    flush(home)

    assert len(notices(server)) == 2


def test_bounce_none_queues_no_notice_but_still_runs_the_hook(home, server_at) -> None:
    server = server_at(handler=RefusingHandler("554 5.7.1 rejected"))
    home.account(server.port)
    home.configure(bounce="none", notify_command=str(hook(home)))
    home.sendmail(MAIL, "-i", "you@example.net")

    flush(home)
    flush(home)

    assert notices(server) == []
    assert [m.status.value for m in home.messages()] == ["failed"]
    (run,) = hook_runs(home)
    assert run["STATUS"] == "failed"


# -- delay warnings ----------------------------------------------------------------------

def test_delay_warning_sends_exactly_one_delayed_report(home, server_at) -> None:
    server = server_at(handler=greylisting())
    home.account(server.port)
    home.configure(delay_warning="1s", notify_command=str(hook(home)))  # a test about it
    home.sendmail(MAIL, "-i", "later@example.net")

    flush(home)
    wait_past(1.5)
    flush(home, "--now")
    flush(home, "--now")

    (dsn,) = notices(server)
    message = parsed(dsn)
    assert message["Subject"] == "Delayed Mail (still being retried)"
    text, (_, per_recipient), _ = report_parts(message)
    assert per_recipient["Final-Recipient"] == "rfc822; later@example.net"
    assert (per_recipient["Action"], per_recipient["Status"]) == ("delayed", "4.7.1")
    until = email.utils.parsedate_to_datetime(per_recipient["Will-Retry-Until"])
    assert until - datetime.now(UTC) > timedelta(days=4)  # max_age: 5 days from queuing
    assert "do not need to send it again" in " ".join(text.get_content().split())
    assert [m.status.value for m in home.messages()] == ["deferred", "sent"]
    (run,) = hook_runs(home)
    assert (run["STATUS"], run["REASON"]) == ("delayed", "451 4.7.1 greylisted")


def test_without_delay_warning_a_delayed_mail_gets_no_notice(home, server_at) -> None:
    server = server_at(handler=greylisting())
    home.account(server.port)
    home.sendmail(MAIL, "-i", "later@example.net")

    flush(home)
    wait_past(1.5)
    flush(home, "--now")

    assert notices(server) == []


# -- the notify hook ---------------------------------------------------------------------

def test_notify_command_runs_once_per_failure_with_the_facts(home, server_at) -> None:
    server = server_at(handler=RefusingHandler("554 5.7.1 Message rejected as spam"))
    home.account(server.port)
    home.configure(notify_command=str(hook(home)))
    home.sendmail(MAIL, "-i", "you@example.net", "two@example.net")

    flush(home)
    flush(home, "--now")

    # Once, and never for the notice itself (which was sent; it would not count anyway).
    assert len(notices(server)) == 1
    assert hook_runs(home) == [{
        "ID": "1", "STATUS": "failed", "FROM": "me@example.org",
        "RECIPIENTS": "you@example.net,two@example.net",
        "REASON": "554 5.7.1 Message rejected as spam", "SUBJECT": "the report"}]


def test_a_failing_notify_command_does_not_affect_the_queue(home, server_at) -> None:
    server = server_at(handler=RefusingHandler("554 5.7.1 rejected"))
    home.account(server.port)
    home.configure(notify_command=str(hook(home, "echo broken hook >&2; exit 3")))
    home.sendmail(MAIL, "-i", "you@example.net")

    stderr = flush(home)

    assert "notify_command for message 1 failed (exit status 3): broken hook" in stderr
    assert len(notices(server)) == 1
    assert [m.status.value for m in home.messages()] == ["failed", "sent"]
    flush(home)
    assert len(hook_runs(home)) == 1  # reported, not retried


def test_a_hanging_notify_command_is_killed_after_its_timeout(home, server_at,
                                                               monkeypatch) -> None:
    from smtpq.queue.flush.flusher import FlushRequest, run_flush
    from smtpq.queue.notices import hook as notify_hook
    from smtpq.queue.settings import load_settings

    server = server_at(handler=RefusingHandler("554 5.7.1 rejected"))
    home.account(server.port)
    pidfile = home.root / "hook.pid"
    home.configure(notify_command=str(hook(home, f"echo $$ > {pidfile}; exec sleep 600")))
    home.sendmail(MAIL, "-i", "you@example.net")
    monkeypatch.setattr(notify_hook, "NOTIFY_TIMEOUT", 2.0)  # the setting under test

    started = time.monotonic()
    run_flush(load_settings(home.env), FlushRequest(), env=home.env)

    assert time.monotonic() - started < 60
    assert not running(int(pidfile.read_text()))
    assert len(notices(server)) == 1
    assert [m.status.value for m in home.messages()] == ["failed", "sent"]




# -- a shared queue ----------------------------------------------------------------------

def test_on_postgresql_a_failure_comes_back_once_too(home, server_at, postgres_url: str) -> None:
    home.url = home.env["SMTPQ_DATABASE"] = postgres_url
    server = server_at(handler=RefusingHandler("554 5.7.1 rejected"))
    home.account(server.port)
    home.sendmail(MAIL, "-i", "you@example.net")

    flush(home)
    flush(home, "--now")

    (dsn,) = notices(server)
    _, (_, per_recipient), _ = report_parts(parsed(dsn))
    assert (per_recipient["Action"], per_recipient["Status"]) == ("failed", "5.7.1")
    assert [(m.status.value, m.envelope_from) for m in home.messages()] == [
        ("failed", "me@example.org"), ("sent", "")]
