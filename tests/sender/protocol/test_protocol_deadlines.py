"""Stage deadlines: a session given ``StageLimits`` (the queue's) ends each stage in time.

A server that accepts and then says nothing, or trickles its reply one byte at
a time so that the account's per-read ``timeout`` never fires, is abandoned
when the stage's overall deadline passes, with ``StageTimeout`` (EX_TEMPFAIL)
naming what was awaited.  Without limits (``--send-now``, msmtp) nothing
changes: only the account's ``timeout`` bounds a read.

These tests are about the deadlines, so they set short ones.
"""

from __future__ import annotations

import time

import pytest

from smtpq.sender.config.settings import Account
from smtpq.sender.delivery.courier import Courier, OutgoingMail
from smtpq.sender.delivery.outcome import FailureKind
from smtpq.sender.delivery.pipeline import deliver_all
from smtpq.sender.errors import DeliveryError, StageTimeout
from smtpq.sender.protocol.deadlines import StageLimits
from smtpq.sender.protocol.session import Session
from smtpq.sender.sysexits import ExitCode
from tests.support.certs import TlsMaterial
from tests.support.faults import FaultServer

#: Short deadlines (this module is about them): 2 s a stage, 3 s for the end of data.
LIMITS = StageLimits(connect=5, reply=2, transfer=2, end_of_data=3)
#: Far longer than any stage here may take once its deadline has passed.
GENEROUS = 20


def account_for(server: FaultServer, **settings: object) -> Account:
    """An account for *server*: plain text, no AUTH, no ``timeout`` unless *settings* say."""
    return Account(host="127.0.0.1", port=server.port, **settings)  # type: ignore[arg-type]


def timed_open(account: Account, limits: StageLimits | None) -> tuple[BaseException, float]:
    started = time.monotonic()
    with pytest.raises(DeliveryError) as caught:
        Session.open(account, limits=limits)
    return caught.value, time.monotonic() - started


def test_a_server_that_never_greets_is_abandoned_at_the_deadline(fault_server) -> None:
    server = fault_server("greeting", "hang")
    error, took = timed_open(account_for(server), LIMITS)  # no timeout: msmtp would wait for ever
    assert isinstance(error, StageTimeout)
    assert error.message == "timed out after 2 s waiting for the greeting"
    assert error.exit_code == ExitCode.EX_TEMPFAIL
    assert LIMITS.reply <= took < GENEROUS


def test_a_trickling_greeting_is_abandoned_although_each_read_is_quick(fault_server) -> None:
    # 24 bytes at one every 0.5 s: 12 s for the greeting; the 1 s per-read timeout never fires.
    server = fault_server("greeting", "trickle", trickle=0.5)
    error, took = timed_open(account_for(server, timeout=1), LIMITS)
    assert isinstance(error, StageTimeout)
    assert error.message == "timed out after 2 s waiting for the greeting"
    assert took < 6  # the whole greeting would have taken 12 s


def test_without_limits_only_the_account_timeout_counts_as_in_msmtp(fault_server) -> None:
    server = fault_server("greeting", "trickle", trickle=0.2)  # about 5 s for the greeting
    started = time.monotonic()
    with Session.open(account_for(server, timeout=1)) as session:
        assert session.greeting is not None and session.greeting.code == 220
    assert time.monotonic() - started > LIMITS.reply  # past where a deadline would have ended it

    hung = fault_server("greeting", "hang")
    error, _ = timed_open(account_for(hung, timeout=1), None)
    assert not isinstance(error, StageTimeout)
    assert error.message == "network read error: the operation timed out"
    assert error.exit_code == ExitCode.EX_IOERR


@pytest.mark.parametrize(("step", "awaited", "seconds"), [
    ("ehlo", "the reply to EHLO", 2),
    ("mail", "the reply to MAIL FROM", 2),
    ("rcpt", "the reply to RCPT TO", 2),
    ("data", "the reply to DATA", 2),
    ("eod", "the reply to the end of data", 3),
])
def test_each_reply_has_its_deadline_and_says_what_was_awaited(fault_server, step, awaited,
                                                               seconds) -> None:
    server = fault_server(step, "hang")
    courier = Courier(account_for(server), limits=LIMITS)
    mail = OutgoingMail("me@example.org", ["you@example.net"], [b"Subject: x\r\n\r\nhi\r\n"])
    started = time.monotonic()
    outcome = courier.deliver(mail)
    took = time.monotonic() - started
    courier.close()
    assert outcome.errormsg == f"timed out after {seconds} s waiting for {awaited}"
    assert outcome.exit_code == ExitCode.EX_TEMPFAIL
    assert outcome.failure == FailureKind.CONNECTION_LOST  # deferred, as a 451 (RFC 5321 §3.8)
    assert "exitcode=EX_TEMPFAIL" in outcome.log_line
    assert seconds <= took < GENEROUS


def test_a_courier_whose_server_stalled_does_not_wait_for_it_again(fault_server) -> None:
    server = fault_server("mail", "hang")
    courier = Courier(account_for(server), limits=LIMITS)
    mails = [OutgoingMail("me@example.org", [f"you{n}@example.net"], [b"Subject: x\r\n\r\nhi\r\n"])
             for n in range(3)]
    started = time.monotonic()
    outcomes = list(deliver_all(courier, mails))
    courier.close()
    assert [o.exit_code for o in outcomes] == [ExitCode.EX_TEMPFAIL] * 3
    assert server.sessions == 1
    assert time.monotonic() - started < LIMITS.reply + GENEROUS / 2


def test_a_tls_handshake_the_server_never_answers_ends_at_the_deadline(
        fault_server, tls_material: TlsMaterial) -> None:
    server = fault_server("greeting", "hang")  # reads nothing: the ClientHello goes unanswered
    account = account_for(server, tls=True, tls_starttls=False,
                          tls_trust_file=str(tls_material.ca_file))
    error, took = timed_open(account, LIMITS)
    assert isinstance(error, StageTimeout)
    assert error.message == "timed out after 2 s during the TLS handshake"
    assert LIMITS.reply <= took < GENEROUS


def test_a_server_that_stops_reading_the_mail_is_abandoned_while_sending_it(
        fault_server) -> None:
    server = fault_server("data", "unread")  # 354, then it reads nothing
    courier = Courier(account_for(server), limits=LIMITS)
    big = [b"Subject: big\r\n\r\n"] + [b"x" * 998 + b"\r\n"] * 32_000  # 32 MB: past any buffer
    mail = OutgoingMail("me@example.org", ["you@example.net"], big)
    started = time.monotonic()
    outcome = courier.deliver(mail)
    took = time.monotonic() - started
    courier.close()
    assert outcome.errormsg is not None
    assert outcome.errormsg.startswith("timed out after ")
    assert outcome.errormsg.endswith(" s sending the mail")
    assert outcome.exit_code == ExitCode.EX_TEMPFAIL
    assert took < GENEROUS * 2
