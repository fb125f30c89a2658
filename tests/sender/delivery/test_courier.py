"""The delivery engine against real servers on 127.0.0.1: connection reuse, policies, outcomes."""

from __future__ import annotations

import io

from smtpq.sender.delivery.courier import Courier, OutgoingMail, deliver_once
from smtpq.sender.delivery.outcome import FailureKind, RecipientStatus
from smtpq.sender.protocol.transaction import Policy
from smtpq.sender.sysexits import ExitCode
from tests.sender.delivery.conftest import commands, make_mail
from tests.support.aiosmtpd_server import RecordingHandler, free_port
from tests.support.scripted import Peer, smtp_dialogue


def test_one_connection_carries_three_mails(recorder, mail):
    server, account = recorder()
    with Courier(account) as courier:
        outcomes = [courier.deliver(mail(f"r{i}@example.net")) for i in range(3)]
    assert [o.exit_code for o in outcomes] == [ExitCode.EX_OK] * 3
    assert len(server.connections) == 1
    lines = commands(server.connections[0])
    assert [x.split(":")[0] for x in lines if x.startswith("MAIL")] == ["MAIL FROM"] * 3
    assert "RSET" not in lines  # RFC 5321 §4.1.1.4: a completed transaction needs no RSET
    assert lines[-1] == "QUIT"


def test_a_refused_mail_is_followed_by_rset_on_the_same_connection(recorder, mail):
    server, account = recorder(replies={"RCPT TO:<bad@example.net>": "550 5.1.1 unknown"})
    with Courier(account) as courier:
        first = courier.deliver(mail("a@example.net"))
        refused = courier.deliver(mail("bad@example.net"))
        third = courier.deliver(mail("c@example.net"))
    assert (first.ok, refused.exit_code, third.ok) == (True, ExitCode.EX_DATAERR, True)
    assert len(server.connections) == 1
    lines = commands(server.connections[0])
    rset = lines.index("RSET")
    assert lines[rset - 2:rset] == ["RCPT TO:<bad@example.net>", "DATA"]
    assert lines[rset + 1] == "MAIL FROM:<alice@example.org>"
    assert lines.count("RSET") == 1


def test_per_recipient_policy_delivers_to_the_accepted_and_reports_each(recorder):
    server, account = recorder(replies={"RCPT TO:<gone@example.net>": "550 5.1.1 gone",
                                        "RCPT TO:<full@example.net>": "451 4.2.2 full, try later"})
    with Courier(account) as courier:
        outcome = courier.deliver(make_mail("ok@example.net", "gone@example.net",
                                            "full@example.net"), policy=Policy.PER_RECIPIENT)
    assert outcome.delivered == ("ok@example.net",)
    assert outcome.partial
    states = {r.address: (r.state, r.smtp_status) for r in outcome.recipients}
    assert states == {"ok@example.net": (RecipientStatus.SENT, 250),
                      "gone@example.net": (RecipientStatus.FAILED, 550),
                      "full@example.net": (RecipientStatus.DEFERRED, 451)}
    # msmtp's verdict for the whole mail is the first refusal's
    assert outcome.exit_code == ExitCode.EX_DATAERR
    assert outcome.errormsg == "recipient address gone@example.net not accepted by the server"
    assert outcome.failure is None and outcome.mailsize > 0
    assert "smtpstatus=550 smtpmsg='550 5.1.1 gone'" in outcome.log_line
    assert [x for x in server.connections[0] if isinstance(x, tuple)]  # DATA went


def test_all_or_nothing_sends_nothing_when_one_recipient_is_refused(recorder):
    server, account = recorder(replies={"RCPT TO:<gone@example.net>": "550 5.1.1 gone"})
    outcome = deliver_once(account, make_mail("ok@example.net", "gone@example.net"))
    assert outcome.exit_code == ExitCode.EX_DATAERR
    assert [r.state for r in outcome.recipients] == [RecipientStatus.PENDING,
                                                     RecipientStatus.FAILED]
    lines = commands(server.connections[0])
    assert "QUIT" not in lines  # msmtp just closes after a refusal
    assert not [x for x in server.connections[0] if isinstance(x, tuple)]


def test_lmtp_reports_every_recipient_after_data(smtp_server):
    handler = RecordingHandler(lmtp_replies={"b@example.net": "452 4.2.2 mailbox full",
                                             "c@example.net": "550 5.1.1 no such user"})
    server = smtp_server(lmtp=True, handler=handler)
    with Courier(server.account(from_="alice@example.org")) as courier:
        outcome = courier.deliver(make_mail("a@example.net", "b@example.net", "c@example.net"))
    assert [(r.state, r.smtp_status) for r in outcome.recipients] == [
        (RecipientStatus.SENT, 250), (RecipientStatus.DEFERRED, 452),
        (RecipientStatus.FAILED, 550)]
    assert outcome.exit_code == ExitCode.EX_UNAVAILABLE
    assert outcome.errormsg == "delivery to one or more recipients failed"
    assert outcome.smtp_status is None and "smtpstatus" not in outcome.log_line


def test_lmtp_success_logs_no_smtp_status(smtp_server):
    server = smtp_server(lmtp=True)
    outcome = deliver_once(server.account(from_="alice@example.org"), make_mail())
    assert outcome.ok and outcome.recipients[0].smtp_status == 250
    assert "smtpstatus" not in outcome.log_line and "mailsize=" in outcome.log_line


def test_mail_from_refused_decides_for_every_recipient(recorder):
    _, account = recorder(replies={"MAIL": "553 5.7.1 not owned"})
    outcome = deliver_once(account, make_mail("a@example.net", "b@example.net"))
    assert {(r.state, r.smtp_status) for r in outcome.recipients} == {
        (RecipientStatus.FAILED, 553)}


def test_an_unreachable_server_is_an_outcome_not_an_exception():
    from smtpq.sender.config.settings import Account

    port = free_port()
    outcome = deliver_once(Account(host="127.0.0.1", port=port, from_="a@example.org"),
                           make_mail())
    assert outcome.exit_code == ExitCode.EX_TEMPFAIL
    assert outcome.failure is FailureKind.CONNECT_FAILED
    assert outcome.recipients[0].state is RecipientStatus.PENDING
    assert outcome.log_line == (
        f"host=127.0.0.1 tls=off auth=off from=alice@example.org recipients=bob@example.net "
        f"errormsg='cannot connect to 127.0.0.1, port {port}: Connection refused' "
        f"exitcode=EX_TEMPFAIL")


def test_an_unknown_host_is_host_not_found():
    from smtpq.sender.config.settings import Account

    outcome = deliver_once(Account(host="no-such-host.invalid", port=25), make_mail())
    assert (outcome.exit_code, outcome.failure) == (ExitCode.EX_NOHOST,
                                                    FailureKind.HOST_NOT_FOUND)


def test_a_greeting_421_is_decided_by_its_reply(recorder):
    _, account = recorder(greeting="421 4.3.2 try later")
    outcome = deliver_once(account, make_mail())
    assert (outcome.exit_code, outcome.failure, outcome.smtp_status) == (
        ExitCode.EX_PROTOCOL, None, 421)


def test_a_hang_up_is_a_lost_connection_and_the_next_mail_reconnects(scripted_server):
    def script(peer: Peer) -> None:
        if len(server.peers) == 1:  # the first connection dies after MAIL FROM
            peer.send("220 x ESMTP")
            peer.expect("EHLO")
            peer.send("250 x")
            peer.expect("MAIL")
            return
        smtp_dialogue(peer)

    server = scripted_server(script)
    account = make_account(server.port)
    with Courier(account) as courier:
        lost = courier.deliver(make_mail())
        again = courier.deliver(make_mail())
    assert (lost.exit_code, lost.failure) == (ExitCode.EX_PROTOCOL, FailureKind.CONNECTION_LOST)
    assert again.ok and len(server.peers) == 2


def test_a_timeout_is_a_lost_connection(recorder):
    _, account = recorder(stall=True)
    account.timeout = 1
    outcome = deliver_once(account, make_mail())
    assert (outcome.exit_code, outcome.failure) == (ExitCode.EX_IOERR,
                                                    FailureKind.CONNECTION_LOST)


def test_dsn_without_server_support_is_refused_before_mail_and_quits(recorder):
    server, account = recorder()
    account.dsn_notify = "SUCCESS"
    outcome = deliver_once(account, make_mail())
    assert (outcome.exit_code, outcome.errormsg) == (ExitCode.EX_UNAVAILABLE,
                                                     "the server does not support DSN")
    assert outcome.failure is FailureKind.LOCAL_ERROR
    assert commands(server.connections[0]) == ["EHLO localhost", "QUIT"]


def test_dsn_parameters_reach_the_server(recorder):
    server, account = recorder(ehlo=("DSN",))
    account.dsn_notify, account.dsn_return = "FAILURE,DELAY", "HDRS"
    assert deliver_once(account, make_mail()).ok
    lines = commands(server.connections[0])
    assert "MAIL FROM:<alice@example.org> RET=HDRS" in lines
    assert "RCPT TO:<bob@example.net> NOTIFY=FAILURE,DELAY" in lines


def test_a_mail_larger_than_size_is_a_bad_message_and_the_connection_stays(recorder):
    server, account = recorder(ehlo=("SIZE 100",))
    with Courier(account) as courier:
        big = courier.deliver(OutgoingMail("a@example.org", ["b@example.net"], [b"x" * 200],
                                           size=200))
        small = courier.deliver(make_mail())
    assert (big.exit_code, big.failure) == (ExitCode.EX_UNAVAILABLE, FailureKind.BAD_MESSAGE)
    assert small.ok and len(server.connections) == 1


def test_a_read_error_in_the_mail_is_input_error_and_breaks_the_session(recorder):
    class Failing(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:
            raise OSError(5, "Input/output error")

    server, account = recorder()
    with Courier(account) as courier:
        broken = courier.deliver(OutgoingMail("a@example.org", ["b@example.net"], Failing()))
        after = courier.deliver(make_mail())
    assert (broken.exit_code, broken.errormsg) == (ExitCode.EX_IOERR, "input error")
    assert after.ok and len(server.connections) == 2


def test_content_may_be_a_binary_file_with_any_line_ends(recorder):
    server, account = recorder()
    raw = io.BytesIO(b"Subject: f\r\n\r\n.dot\nlast")
    outcome = deliver_once(account, OutgoingMail("a@example.org", ["b@example.net"], raw))
    data = [x for x in server.connections[0] if isinstance(x, tuple)][0][1]
    assert data == b"Subject: f\r\n\r\n..dot\r\nlast\r\n"
    assert outcome.mailsize == len(b"Subject: f\n\n.dot\nlast\n")


def test_a_failed_rset_means_a_new_connection(recorder):
    server, account = recorder(replies={"RCPT TO:<bad@example.net>": "550 no",
                                        "RSET": "421 4.3.2 closing"})
    with Courier(account) as courier:
        courier.deliver(make_mail("bad@example.net"))
        outcome = courier.deliver(make_mail())
    assert outcome.ok and len(server.connections) == 2


def test_auth_failure_is_local_error_with_the_servers_reply(smtp_server):
    from tests.support.sasl_handlers import SaslHandler

    users = {"bob": "right"}
    server = smtp_server(handler=SaslHandler(users), credentials=users, auth_require_tls=False)
    account = server.account(auth="PLAIN", user="bob", password="wrong", from_="a@example.org")
    outcome = deliver_once(account, make_mail())
    assert (outcome.exit_code, outcome.failure, outcome.smtp_status) == (
        ExitCode.EX_NOPERM, FailureKind.LOCAL_ERROR, 535)
    assert "auth=on user=bob" in outcome.log_line and "wrong" not in outcome.log_line


def test_authenticated_delivery_over_starttls(smtp_server):
    from tests.support.sasl_handlers import SaslHandler

    users = {"bob": "right"}
    server = smtp_server(mode="starttls", handler=SaslHandler(users), credentials=users)
    account = server.account(auth="", user="bob", password="right", from_="a@example.org")
    outcome = deliver_once(account, make_mail())
    assert outcome.ok and server.messages[0].rcpt_tos == ["bob@example.net"]
    assert outcome.log_line.startswith("host=127.0.0.1 tls=on auth=on user=bob ")


def test_the_outcome_times_the_attempt(recorder):
    _, account = recorder()
    outcome = deliver_once(account, make_mail())
    assert 0 <= outcome.finished - outcome.started < 10


def make_account(port: int):  # type: ignore[no-untyped-def]
    from smtpq.sender.config.settings import Account

    return Account(host="127.0.0.1", port=port, timeout=10, from_="alice@example.org")
