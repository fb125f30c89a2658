"""Many mails over one connection, pipelined across mails (RFC 2920 §3.1).

The next mail's envelope leaves in the same write as this mail's end of data,
before its reply has come; the content still waits for its own 354.  Every
mail gets its own outcome, in order, whatever the server said about the others.
"""

from __future__ import annotations

import pytest

from smtpq.sender.config.settings import Account
from smtpq.sender.delivery.courier import Courier, OutgoingMail
from smtpq.sender.delivery.outcome import RecipientStatus
from smtpq.sender.delivery.pipeline import deliver_all
from smtpq.sender.protocol.transaction import Policy
from tests.support.aiosmtpd_server import RecordingHandler
from tests.support.scripted import Peer, smtp_dialogue


def mails(count: int, *, to: str = "t{n}@example.net") -> list[OutgoingMail]:
    return [OutgoingMail("a@example.org", [to.format(n=n)],
                         [f"Subject: {n}\r\n\r\nbody {n}\r\n".encode()]) for n in range(count)]


def deliver(account: Account, batch: list[OutgoingMail], **options):  # type: ignore[no-untyped-def]
    with Courier(account) as courier:
        return list(deliver_all(courier, batch, **options))


def account_for(port: int) -> Account:
    return Account(host="127.0.0.1", port=port, timeout=5)


def test_the_next_envelope_leaves_with_the_end_of_data(scripted_server):
    server = scripted_server(smtp_dialogue)
    outcomes = deliver(account_for(server.port), mails(3))
    assert [o.ok for o in outcomes] == [True, True, True]
    reads = server.peer.reads
    joined = [read for read in reads if b"\r\n.\r\nMAIL FROM:" in read]
    assert len(joined) == 2, reads
    assert joined[0].endswith(b"body 0\r\n.\r\nMAIL FROM:<a@example.org>\r\n"
                              b"RCPT TO:<t1@example.net>\r\nDATA\r\n")


def test_the_client_does_not_wait_for_the_end_of_data_reply(scripted_server):
    """The server answers a mail's end of data only once the next MAIL has come:
    a client that waited for each reply would never get it."""
    def script(peer: Peer) -> None:
        peer.send("220 hi")
        peer.expect("EHLO")
        peer.send("250-x", "250 PIPELINING")
        for n in range(3):
            peer.expect("MAIL")
            if n:
                peer.send("250 2.0.0 queued")  # the end of data of the mail before
            peer.expect("RCPT")
            peer.expect("DATA")
            peer.send("250 ok", "250 ok", "354 go ahead")
            peer.data()
        peer.send("250 2.0.0 queued")
        peer.expect("QUIT")
        peer.send("221 bye")

    server = scripted_server(script)
    outcomes = deliver(account_for(server.port), mails(3))
    assert [o.ok for o in outcomes] == [True, True, True]
    assert [o.smtp_message for o in outcomes] == [("250 2.0.0 queued",)] * 3


def test_each_mail_gets_its_own_outcome_in_order(smtp_server):
    handler = RecordingHandler(rcpt_replies={"t1@example.net": "550 5.1.1 unknown",
                                             "t3@example.net": "452 4.2.2 full"})
    server = smtp_server(handler=handler)
    outcomes = deliver(server.account(), mails(5))
    states = [o.recipients[0].state for o in outcomes]
    assert states == [RecipientStatus.SENT, RecipientStatus.FAILED, RecipientStatus.SENT,
                      RecipientStatus.DEFERRED, RecipientStatus.SENT]
    assert [o.envelope_from for o in outcomes] == ["a@example.org"] * 5
    assert [m.rcpt_tos for m in handler.messages] == [["t0@example.net"], ["t2@example.net"],
                                                      ["t4@example.net"]]
    assert all(o.log_line for o in outcomes)


def test_after_a_refused_mail_rset_goes_with_the_next_envelope(scripted_server):
    bad = "550 5.1.1 unknown"
    server = scripted_server(
        lambda peer: smtp_dialogue(peer, replies={"RCPT TO:<t0@example.net>": bad,
                                                  "DATA": "554 5.5.1 no valid recipients"}))
    outcomes = deliver(account_for(server.port), mails(2), policy=Policy.PER_RECIPIENT)
    assert outcomes[0].recipients[0].state is RecipientStatus.FAILED
    assert outcomes[1].recipients[0].state is RecipientStatus.FAILED  # the DATA refusal, again
    assert b"RSET\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<t1@example.net>\r\nDATA\r\n" in (
        server.peer.reads)


def test_a_mail_sent_behind_a_421_is_sent_again_on_a_new_connection(scripted_server):
    def script(peer: Peer) -> None:
        first = len(server.peers) == 1
        peer.send("220 hi")
        while line := peer.line():
            verb = line[:4].upper()
            if verb == "EHLO":
                peer.send("250-x", "250 PIPELINING")
            elif verb == "DATA":
                peer.send("354 go ahead")
                peer.data()
                if first:
                    peer.send("421 4.3.2 shutting down")
                    return
                peer.send("250 2.0.0 queued")
            elif verb == "QUIT":
                peer.send("221 bye")
                return
            else:
                peer.send("250 ok")

    server = scripted_server(script)
    outcomes = deliver(account_for(server.port), mails(3))
    assert [o.smtp_status for o in outcomes] == [421, 250, 250]
    assert len(server.peers) == 2
    assert b"RCPT TO:<t1@example.net>" in b"".join(server.peers[0].reads)  # it went, unanswered


def test_without_pipelining_mails_go_one_at_a_time(scripted_server):
    server = scripted_server(lambda peer: smtp_dialogue(peer, ehlo=("8BITMIME",)))
    outcomes = deliver(account_for(server.port), mails(3))
    assert [o.ok for o in outcomes] == [True, True, True]
    assert not any(b".\r\nMAIL" in read for read in server.peer.reads)


def test_lmtp_gets_one_end_of_data_reply_per_recipient_for_every_mail(smtp_server):
    handler = RecordingHandler(lmtp_replies={"t1@example.net": "452 4.2.2 full"})
    server = smtp_server(handler=handler, lmtp=True)
    outcomes = deliver(server.account(), mails(3))
    assert [o.recipients[0].state for o in outcomes] == [
        RecipientStatus.SENT, RecipientStatus.DEFERRED, RecipientStatus.SENT]


def test_many_mails_through_postfix_smtp_sink(smtp_sink):
    sink = smtp_sink()
    outcomes = deliver(sink.account(), mails(50))
    assert all(o.ok for o in outcomes) and len(outcomes) == 50
    assert len(sink.messages(count=50)) == 50


@pytest.mark.parametrize("stop_after", [1, 2])
def test_closing_the_stream_early_leaves_the_courier_usable(
        smtp_server, stop_after):
    server = smtp_server()
    with Courier(server.account()) as courier:
        stream = deliver_all(courier, mails(5))
        taken = [next(stream) for _ in range(stop_after)]
        stream.close()
        assert all(o.ok for o in taken)
        again = list(deliver_all(courier, mails(2, to="again{n}@example.net")))
    assert [o.ok for o in again] == [True, True]
    delivered = [m.rcpt_tos[0] for m in server.messages]
    assert delivered[-2:] == ["again0@example.net", "again1@example.net"]


def test_a_mail_over_the_size_limit_fails_alone_and_the_stream_goes_on(smtp_server):
    server = smtp_server(data_size_limit=1000)
    batch = mails(3)
    batch[1].size = 5000
    outcomes = deliver(server.account(), batch)
    assert [o.ok for o in outcomes] == [True, False, True]
    assert outcomes[1].errormsg == "the mail is 5000 bytes, but the server accepts at most 1000 bytes"
    assert [m.rcpt_tos for m in server.messages] == [["t0@example.net"], ["t2@example.net"]]


def test_the_idle_hook_runs_while_a_reply_keeps_the_client_waiting(scripted_server):
    import time

    def script(peer: Peer) -> None:
        peer.send("220 hi")
        peer.expect("EHLO")
        peer.send("250-x", "250 PIPELINING")
        peer.expect("MAIL")
        peer.expect("RCPT")
        peer.expect("DATA")
        peer.send("250 ok", "250 ok", "354 go ahead")
        peer.data()
        time.sleep(0.2)  # slow to answer the end of data
        peer.send("250 2.0.0 queued")
        peer.expect("QUIT")
        peer.send("221 bye")

    server = scripted_server(script)
    calls: list[float] = []
    with Courier(account_for(server.port), on_idle=lambda: calls.append(time.monotonic())) as c:
        outcomes = list(deliver_all(c, mails(1)))
    assert outcomes[0].ok
    assert calls, "the hook never ran during a 0.2 s wait"
