"""What each server answer makes of a queued mail, flushed by the real ``smtpq flush``.

For every outcome the issue lists, the message ends in docs/interface.md's status, each
recipient in its own state (RFC 5321 §3.3: every RCPT has its own reply;
RFC 2033 §4.2: so has every LMTP recipient after DATA), and the history
records msmtp's exit code for the same outcome with msmtp's log line, which
also goes to the account's ``logfile``.  A recipient deferred with 4xx is
later retried alone; one that took the mail never gets it again.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.queue_home import (  # noqa: F401 - fixtures
    QueueHome,
    SlowHandler,
    closed_port,
    queue_home,
    server_at,
)

MAIL = b"From: me@example.org\nTo: undisclosed-recipients:;\nSubject: outcome\n\nhello\n"


@pytest.fixture
def home(queue_home: QueueHome) -> QueueHome:
    return queue_home


def enqueue(home: QueueHome, port: int, *recipients: str, extra: tuple[str, ...] = ()) -> int:
    """Point the default account at *port* (logging to ~/msmtp.log), queue MAIL; its id."""
    home.account(port, *extra, logfile=home.home / "msmtp.log")
    home.sendmail(MAIL, "-i", "--", *recipients)
    (message,) = home.messages()
    return message.id


def logged(home: QueueHome) -> list[str]:
    """The account's logfile lines without their time stamps ("Nov 25 01:02:03 ")."""
    path: Path = home.home / "msmtp.log"
    return [line.split(" ", 3)[3] for line in path.read_text().splitlines()]


def recipient_states(home: QueueHome, message_id: int) -> dict[str, tuple[str, int | None]]:
    return {r.address: (r.status.value, r.smtp_status)
            for r in home.detail(message_id).recipient_states}


def last_attempt(home: QueueHome, message_id: int):  # type: ignore[no-untyped-def]
    detail = home.detail(message_id)
    assert detail.history, "no attempt recorded"
    return detail.history[-1]


def assert_logged(home: QueueHome, message_id: int, *fragments: str) -> None:
    """The last attempt's log line has *fragments* and is also the logfile's last line."""
    line = last_attempt(home, message_id).log_line
    for fragment in fragments:
        assert fragment in line
    assert logged(home)[-1] == line


# -- SMTP replies to RCPT --------------------------------------------------------------

def test_a_recipient_refused_with_5xx_fails_the_mail_with_exit_65(home, server_at) -> None:
    server = server_at(handler=SlowHandler(rcpt_replies={"bad@example.net": "550 5.1.1 unknown"}))
    message_id = enqueue(home, server.port, "bad@example.net")

    report = home.flush()

    assert report.returncode == 65  # the attempt's own code: EX_DATAERR
    assert report.stderr.decode().splitlines()[0] == (
        f"failed {message_id} <bad@example.net>: 550 5.1.1 unknown")
    assert home.detail(message_id).status.value == "failed"
    assert recipient_states(home, message_id) == {"bad@example.net": ("failed", 550)}
    assert last_attempt(home, message_id).exit_code == 65
    assert_logged(home, message_id, "recipients=bad@example.net", "smtpstatus=550",
                  "smtpmsg='550 5.1.1 unknown'",
                  "errormsg='recipient address bad@example.net not accepted by the server'",
                  "exitcode=EX_DATAERR")
    assert server.messages == []


def test_a_recipient_refused_with_4xx_is_deferred_with_exit_69(home, server_at) -> None:
    server = server_at(handler=SlowHandler(rcpt_replies={"later@example.net": "451 4.7.1 greylisted"}))
    message_id = enqueue(home, server.port, "later@example.net")

    home.flush()

    detail = home.detail(message_id)
    assert detail.status.value == "deferred"
    assert detail.deferrals == 1
    assert recipient_states(home, message_id) == {"later@example.net": ("deferred", 451)}
    assert last_attempt(home, message_id).exit_code == 69
    assert_logged(home, message_id, "smtpstatus=451", "smtpmsg='451 4.7.1 greylisted'",
                  "exitcode=EX_UNAVAILABLE")


def test_mixed_recipients_each_get_their_own_fate_and_only_the_deferred_one_is_retried(
        home, server_at) -> None:
    handler = SlowHandler(rcpt_replies={"bad@example.net": "550 5.1.1 unknown",
                                        "later@example.net": "451 4.7.1 greylisted"})
    server = server_at(handler=handler)
    message_id = enqueue(home, server.port, "ok@example.net", "bad@example.net",
                         "later@example.net")

    home.flush()

    assert [m.rcpt_tos for m in server.messages] == [["ok@example.net"]]
    assert home.detail(message_id).status.value == "deferred"
    assert recipient_states(home, message_id) == {
        "ok@example.net": ("sent", 250), "bad@example.net": ("failed", 550),
        "later@example.net": ("deferred", 451)}
    # msmtp stops at the first refused recipient: 550, hence EX_DATAERR.
    assert last_attempt(home, message_id).exit_code == 65
    assert_logged(home, message_id, "recipients=ok@example.net,bad@example.net,later@example.net",
                  "exitcode=EX_DATAERR")

    handler.rcpt_replies.pop("later@example.net")  # the greylisting is over
    home.flush("--now")

    # Only the deferred recipient gets the mail now; ok@ never again, bad@ never.
    assert [m.rcpt_tos for m in server.messages] == [["ok@example.net"], ["later@example.net"]]
    assert recipient_states(home, message_id) == {
        "ok@example.net": ("sent", 250), "bad@example.net": ("failed", 550),
        "later@example.net": ("sent", 250)}
    assert last_attempt(home, message_id).exit_code == 0
    assert_logged(home, message_id, "recipients=later@example.net", "exitcode=EX_OK")
    # A recipient failed for good: the message says so, as when both fates come at once.
    assert home.detail(message_id).status.value == "failed"


def test_sent_and_failed_recipients_in_one_attempt_make_a_failed_message(home, server_at) -> None:
    server = server_at(handler=SlowHandler(rcpt_replies={"bad@example.net": "550 5.1.1 unknown"}))
    message_id = enqueue(home, server.port, "ok@example.net", "bad@example.net")

    home.flush()

    assert [m.rcpt_tos for m in server.messages] == [["ok@example.net"]]
    assert home.detail(message_id).status.value == "failed"
    assert recipient_states(home, message_id) == {
        "ok@example.net": ("sent", 250), "bad@example.net": ("failed", 550)}

    assert home.smtpq("retry", str(message_id)).returncode == 0
    server.handler.rcpt_replies.clear()
    home.flush()

    # smtpq retry revives the failed recipient only.
    assert [m.rcpt_tos for m in server.messages] == [["ok@example.net"], ["bad@example.net"]]
    assert home.detail(message_id).status.value == "sent"


# -- replies at the end of DATA ----------------------------------------------------------

@pytest.mark.parametrize(("reply", "status", "recipient"), [
    ("451 4.3.0 temporary local problem", "deferred", "deferred"),
    ("554 5.7.1 rejected as spam", "failed", "failed"),
])
def test_a_refusal_at_the_end_of_data_exits_69_and_its_class_decides(
        home, server_at, reply: str, status: str, recipient: str) -> None:
    server = server_at(handler=SlowHandler(data_reply=reply))
    message_id = enqueue(home, server.port, "you@example.net")

    home.flush()

    assert home.detail(message_id).status.value == status
    assert recipient_states(home, message_id) == {"you@example.net": (recipient, int(reply[:3]))}
    assert last_attempt(home, message_id).exit_code == 69
    assert_logged(home, message_id, f"smtpstatus={reply[:3]}", f"smtpmsg='{reply}'",
                  "errormsg='the server did not accept the mail'", "exitcode=EX_UNAVAILABLE")


# -- before any transaction -----------------------------------------------------------

def test_a_refused_connection_leaves_the_mail_queued_with_exit_75(home) -> None:
    message_id = enqueue(home, closed_port(), "you@example.net")

    report = home.flush()  # no terminal here: said all the same (a unit's journal)

    (line,) = report.stderr.decode().splitlines()
    assert line.startswith("offline: server not reachable, 1 message(s) stay queued: "
                           "cannot connect to 127.0.0.1, port")
    assert line.endswith("Connection refused")
    assert report.returncode == 75
    detail = home.detail(message_id)
    assert (detail.status.value, detail.deferrals) == ("queued", 0)
    assert recipient_states(home, message_id) == {"you@example.net": ("pending", None)}
    assert last_attempt(home, message_id).exit_code == 75
    assert_logged(home, message_id, "errormsg='cannot connect to 127.0.0.1, port",
                  "Connection refused'", "exitcode=EX_TEMPFAIL")


def test_a_421_greeting_defers_the_mail_with_exit_76(home, scripted_server) -> None:
    def busy(peer) -> None:  # type: ignore[no-untyped-def]
        peer.send("421 4.3.2 Service not available, closing")

    server = scripted_server(busy)
    message_id = enqueue(home, server.port, "you@example.net")

    home.flush()

    assert home.detail(message_id).status.value == "deferred"
    assert recipient_states(home, message_id) == {"you@example.net": ("pending", None)}
    assert last_attempt(home, message_id).exit_code == 76
    assert_logged(home, message_id, "smtpstatus=421",
                  "smtpmsg='421 4.3.2 Service not available, closing'",
                  "errormsg='cannot get initial OK message from server'", "exitcode=EX_PROTOCOL")


def test_a_wrong_password_defers_the_mail_with_exit_77_until_it_is_fixed(home, server_at) -> None:
    server = server_at(credentials={"me": "right"}, auth_require_tls=False)
    message_id = enqueue(home, server.port, "you@example.net",
                         extra=("auth plain", "user me", "password wrong"))

    home.flush()

    # Fixable by the user: kept (deferred), not failed.
    assert home.detail(message_id).status.value == "deferred"
    assert last_attempt(home, message_id).exit_code == 77
    assert_logged(home, message_id, "auth=on user=me", "smtpstatus=535",
                  "errormsg='authentication failed (method PLAIN)'", "exitcode=EX_NOPERM")
    assert "wrong" not in (home.home / "msmtp.log").read_text()

    home.account(server.port, "auth plain", "user me", "password right",
                  logfile=home.home / "msmtp.log")
    home.flush("--now")

    assert home.detail(message_id).status.value == "sent"
    assert len(server.messages) == 1


# -- LMTP -------------------------------------------------------------------------------

def test_lmtp_replies_after_data_are_honoured_per_recipient(home, server_at) -> None:
    handler = SlowHandler(lmtp_replies={"full@example.net": "452 4.2.2 mailbox full"})
    server = server_at(handler=handler, lmtp=True)
    message_id = enqueue(home, server.port, "a@example.net", "full@example.net",
                         extra=("protocol lmtp",))

    home.flush()

    assert home.detail(message_id).status.value == "deferred"
    assert recipient_states(home, message_id) == {
        "a@example.net": ("sent", 250), "full@example.net": ("deferred", 452)}
    assert_logged(home, message_id, "errormsg='delivery to one or more recipients failed'")

    handler.lmtp_replies.clear()
    home.flush("--now")

    assert [m.rcpt_tos for m in server.messages] == [
        ["a@example.net", "full@example.net"], ["full@example.net"]]
    assert home.detail(message_id).status.value == "sent"
    assert recipient_states(home, message_id) == {
        "a@example.net": ("sent", 250), "full@example.net": ("sent", 250)}
