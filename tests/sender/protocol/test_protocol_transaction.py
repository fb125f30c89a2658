"""MAIL/RCPT/DATA: pipelining, streaming, msmtp's verdicts, per-recipient results, LMTP."""

from __future__ import annotations

import pytest

from smtpq.sender.config.settings import Account
from smtpq.sender.errors import CapabilityMissing, DeliveryError, MessageTooLarge
from smtpq.sender.protocol.session import Session
from smtpq.sender.protocol.transaction import Policy, run_transaction
from smtpq.sender.sysexits import ExitCode
from tests.support.aiosmtpd_server import RecordingHandler
from tests.support.scripted import smtp_dialogue

MAIL = [b"Subject: test\r\n", b"\r\n", b"body\r\n"]


def send(account: Account, recipients, chunks=MAIL, **options):
    with Session.open(account) as session:
        return run_transaction(session, "a@example.org", recipients, chunks, **options)


def test_pipelining_sends_mail_rcpts_and_data_in_one_write(scripted_server):
    server = scripted_server(smtp_dialogue)
    send(Account(host="127.0.0.1", port=server.port, timeout=5),
         ["t@example.net", "u@example.net"]).raise_for_msmtp()
    batch = server.peer.reads[1]
    assert batch == (b"MAIL FROM:<a@example.org>\r\nRCPT TO:<t@example.net>\r\n"
                     b"RCPT TO:<u@example.net>\r\nDATA\r\n")


def test_pipelined_batches_hold_at_most_100_commands(scripted_server):
    server = scripted_server(smtp_dialogue)
    recipients = [f"r{i}@example.net" for i in range(150)]
    send(Account(host="127.0.0.1", port=server.port, timeout=5), recipients).raise_for_msmtp()
    first, second = server.peer.reads[1], server.peer.reads[2]
    assert first.count(b"\r\n") == 100 and first.startswith(b"MAIL FROM:")
    assert second.count(b"\r\n") == 52 and second.endswith(b"DATA\r\n")


def test_without_pipelining_commands_go_one_at_a_time(scripted_server):
    server = scripted_server(lambda peer: smtp_dialogue(peer, ehlo=("8BITMIME",)))
    send(Account(host="127.0.0.1", port=server.port, timeout=5),
         ["t@example.net", "u@example.net"]).raise_for_msmtp()
    assert server.peer.reads[1:5] == [b"MAIL FROM:<a@example.org>\r\n",
                                      b"RCPT TO:<t@example.net>\r\n",
                                      b"RCPT TO:<u@example.net>\r\n", b"DATA\r\n"]


def test_success_returns_the_final_reply(smtp_sink):
    sink = smtp_sink()
    result = send(sink.account(), ["t@example.net"])
    assert result.error() is None
    assert str(result.raise_for_msmtp()) == "250 2.0.0 Ok"
    assert [r.delivered for r in result.recipients] == [True]


def test_a_multi_megabyte_mail_is_streamed_intact(smtp_server):
    server = smtp_server()
    chunk = (b"x" * 998 + b"\r\n") * 1000  # ~1 MB
    chunks = [b"Subject: big\r\n\r\n"] + [chunk] * 5
    result = send(server.account(), ["t@example.net"], chunks)
    result.raise_for_msmtp()
    assert result.bytes_sent == sum(map(len, chunks))
    assert server.messages[0].data == b"".join(chunks)


def test_a_missing_final_line_end_is_added(smtp_server):
    server = smtp_server()
    send(server.account(), ["t@example.net"], [b"Subject: x\r\n\r\nno newline"]).raise_for_msmtp()
    assert server.messages[0].data == b"Subject: x\r\n\r\nno newline\r\n"


@pytest.mark.parametrize(("reply", "code"), [
    ("553 5.7.1 Sender address rejected: not owned by user", ExitCode.EX_DATAERR),
    ("451 4.3.0 try later", ExitCode.EX_UNAVAILABLE),
])
def test_a_refused_sender_fails_the_mail(smtp_server, reply, code):
    server = smtp_server(handler=RecordingHandler(mail_replies={"a@example.org": reply}))
    with pytest.raises(DeliveryError) as caught:
        send(server.account(), ["t@example.net"]).raise_for_msmtp()
    assert caught.value.message == "envelope from address a@example.org not accepted by the server"
    assert caught.value.exit_code == code
    assert caught.value.smtp_message == (reply,)


@pytest.mark.parametrize(("option", "status", "code"), [
    ("hard_reject", 500, ExitCode.EX_DATAERR), ("soft_reject", 450, ExitCode.EX_UNAVAILABLE)])
def test_a_refused_recipient_fails_the_whole_mail(smtp_sink, option, status, code):
    sink = smtp_sink(**{option: ("RCPT",)})
    with pytest.raises(DeliveryError) as caught:
        send(sink.account(), ["rcpt@example.net"]).raise_for_msmtp()
    assert caught.value.message == "recipient address rcpt@example.net not accepted by the server"
    assert (caught.value.exit_code, caught.value.smtp_status) == (code, status)


BAD = "550 5.1.1 <baduser@example.net>: Recipient address rejected: User unknown"


def test_one_bad_recipient_among_good_ones_stops_msmtp_style(scripted_server):
    server = scripted_server(
        lambda peer: smtp_dialogue(peer, replies={"RCPT TO:<baduser@example.net>": BAD}))
    account = Account(host="127.0.0.1", port=server.port, timeout=5)
    with Session.open(account) as session:
        result = run_transaction(session, "a@example.org",
                                 ["good@example.net", "baduser@example.net"], MAIL)
        assert not result.data_sent
        assert session.broken  # the server said 354 to the pipelined DATA: only closing helps
        assert not session.ready_for_next()
    assert b"body" not in b"".join(server.peer.reads)
    error = result.error()
    assert error.message == "recipient address baduser@example.net not accepted by the server"
    assert error.exit_code == ExitCode.EX_DATAERR
    assert error.details == (f"server message: {BAD}",)


def test_without_pipelining_msmtp_stops_at_the_first_refused_recipient(smtp_server):
    server = smtp_server(handler=RecordingHandler(rcpt_replies={"baduser@example.net": BAD}))
    with Session.open(server.account()) as session:
        result = run_transaction(session, "a@example.org",
                                 ["baduser@example.net", "good@example.net"], MAIL)
        assert [r.rcpt_reply is not None for r in result.recipients] == [True, False]
        assert result.data_reply is None and not session.broken
        assert session.ready_for_next()
    assert result.error().message == ("recipient address baduser@example.net "
                                      "not accepted by the server")


def test_data_refused_is_msmtps_mail_data_error(scripted_server):
    def script(peer):
        peer.send("220 hi")
        peer.line()
        peer.send("250 x")
        for _ in range(2):
            peer.line()
            peer.send("250 ok")
        peer.line()
        peer.send("554 5.5.1 no data")
        peer.line()

    server = scripted_server(script)
    result = send(Account(host="127.0.0.1", port=server.port, timeout=5), ["t@example.net"])
    assert result.error().message == "the server does not accept mail data"
    assert result.error().exit_code == ExitCode.EX_DATAERR


@pytest.mark.parametrize("reply", ["554 5.7.1 Message rejected as spam",
                                   "451 4.3.0 Temporary local problem"])
def test_end_of_data_refused_is_always_ex_unavailable(smtp_server, reply):
    server = smtp_server(handler=RecordingHandler(data_reply=reply))
    result = send(server.account(), ["t@example.net"])
    error = result.error()
    assert (error.message, error.exit_code) == ("the server did not accept the mail",
                                                ExitCode.EX_UNAVAILABLE)
    assert error.smtp_message == (reply,)
    assert result.last_reply.code == int(reply[:3])


def test_per_recipient_policy_delivers_to_the_accepted(smtp_server):
    handler = RecordingHandler(rcpt_replies={"full@example.net": "452 4.2.2 Mailbox full",
                                             "gone@example.net": "550 5.1.1 unknown"})
    server = smtp_server(handler=handler)
    result = send(server.account(), ["a@example.net", "full@example.net", "gone@example.net",
                                     "b@example.net"], policy=Policy.PER_RECIPIENT)
    assert [r.address for r in result.delivered] == ["a@example.net", "b@example.net"]
    outcome = {r.address: r.reply.code for r in result.recipients}
    assert outcome == {"a@example.net": 250, "full@example.net": 452,
                       "gone@example.net": 550, "b@example.net": 250}
    assert server.messages[0].rcpt_tos == ["a@example.net", "b@example.net"]


def test_per_recipient_with_nobody_accepted_sends_no_data(smtp_server):
    handler = RecordingHandler(rcpt_replies={"x@example.net": "550 no"})
    server = smtp_server(handler=handler)
    with Session.open(server.account()) as session:
        result = run_transaction(session, "a@example.org", ["x@example.net"], MAIL,
                                 policy=Policy.PER_RECIPIENT)
        assert not result.data_sent and server.messages == []
        assert session.ready_for_next()  # RSET, then the session is reusable
        run_transaction(session, "a@example.org", ["y@example.net"], MAIL).raise_for_msmtp()
    assert server.messages[0].rcpt_tos == ["y@example.net"]


def test_one_session_carries_many_mails(smtp_sink):
    sink = smtp_sink()
    with Session.open(sink.account()) as session:
        for n in range(3):
            assert session.ready_for_next()
            run_transaction(session, "a@example.org", [f"r{n}@example.net"], MAIL).raise_for_msmtp()
    assert len(sink.messages(count=3)) == 3


def test_lmtp_reads_one_reply_per_accepted_recipient(smtp_server):
    handler = RecordingHandler(rcpt_replies={"nobody@example.net": "550 5.1.1 no such user"},
                               lmtp_replies={"full@example.net": "452 4.2.2 Mailbox full"})
    server = smtp_server(handler=handler, lmtp=True)
    result = send(server.account(), ["a@example.net", "nobody@example.net", "full@example.net"],
                  policy=Policy.PER_RECIPIENT)
    replies = {r.address: r.reply.code for r in result.recipients}
    assert replies == {"a@example.net": 250, "nobody@example.net": 550, "full@example.net": 452}
    assert len(result.final_replies) == 2
    assert [r.address for r in result.delivered] == ["a@example.net"]


def test_lmtp_refusal_after_data_is_msmtps_error(smtp_server):
    handler = RecordingHandler(lmtp_replies={"full@example.net": "452 4.2.2 Mailbox full"})
    server = smtp_server(handler=handler, lmtp=True)
    error = send(server.account(), ["a@example.net", "full@example.net"]).error()
    assert error.message == "the server refuses to send the mail to full@example.net"
    assert error.exit_code == ExitCode.EX_UNAVAILABLE


def test_dsn_parameters_go_on_mail_and_rcpt(smtp_sink):
    sink = smtp_sink()
    send(sink.account(), ["t@example.net"], dsn_notify="FAILURE,DELAY",
         dsn_return="HDRS").raise_for_msmtp()
    dump = sink.messages()[0]
    assert b"X-Mail-Args: <a@example.org> RET=HDRS\n" in dump
    assert b"X-Rcpt-Args: <t@example.net> NOTIFY=FAILURE,DELAY\n" in dump


def test_dsn_without_server_support_is_refused_before_mail(smtp_server):
    server = smtp_server()
    with pytest.raises(CapabilityMissing) as caught:
        send(server.account(), ["t@example.net"], dsn_notify="NEVER")
    assert caught.value.message == "the server does not support DSN"
    assert caught.value.exit_code == ExitCode.EX_UNAVAILABLE


def test_a_mail_over_the_size_limit_is_refused_before_mail(smtp_server):
    server = smtp_server(data_size_limit=1000)
    with pytest.raises(MessageTooLarge) as caught:
        send(server.account(), ["t@example.net"], size=5000)
    assert caught.value.exit_code == ExitCode.EX_UNAVAILABLE and caught.value.is_permanent
    assert caught.value.message == ("the mail is 5000 bytes, "
                                    "but the server accepts at most 1000 bytes")


def test_the_null_sender(smtp_sink):
    sink = smtp_sink()
    with Session.open(sink.account()) as session:
        run_transaction(session, "", ["t@example.net"], MAIL).raise_for_msmtp()
    assert b"X-Mail-Args: <>\n" in sink.messages()[0]


def test_a_large_mail_goes_pipelined_through_postfix_smtp_sink(smtp_sink):
    sink = smtp_sink()
    line = b"y" * 76 + b"\r\n"
    body = line * (5 * 1024 * 1024 // len(line))  # ~5 MB
    chunks = [b"Subject: large\r\n\r\n", body]
    with Session.open(sink.account()) as session:
        assert session.capabilities.pipelining  # smtp-sink announces PIPELINING
        result = run_transaction(session, "a@example.org", ["r@example.net"], chunks)
        result.raise_for_msmtp()
    (dump,) = sink.messages(count=1, wait=15.0)
    # smtp-sink dumps with LF line ends and a trailing blank line after its own headers.
    assert dump.endswith(b"Subject: large\n\n" + body.replace(b"\r\n", b"\n") + b"\n")
