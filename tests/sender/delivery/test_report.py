"""msmtp's reporting of an outcome: stderr lines, log file, and log trouble that changes nothing."""

from __future__ import annotations

import pytest

from smtpq.sender.config.settings import Account, Protocol
from smtpq.sender.delivery.outcome import (
    Attempt,
    DeliveryOutcome,
    FailureKind,
    RecipientOutcome,
    RecipientStatus,
    Stage,
    failure_kind,
    from_error,
)
from smtpq.sender.delivery.report import failure_lines, report
from smtpq.sender.errors import (
    CapabilityMissing,
    ConfigError,
    DeliveryError,
    LogFailed,
    MessageTooLarge,
    NetworkError,
    ProtocolError,
    SendFailed,
    ServerRejection,
    TlsError,
)
from smtpq.sender.sysexits import ExitCode

FILE_ACCOUNT = Account(name="work", conffile="/home/u/.msmtprc", host="mx.example",
                       from_="a@example.org")
HOST_ACCOUNT = Account(host="mx.example", from_="a@example.org")


def outcome_of(error, account: Account = FILE_ACCOUNT) -> DeliveryOutcome:
    attempt = Attempt(account, "a@example.org", ("b@example.net",), 0.0, 1.0)
    return from_error(attempt, error, Stage.TRANSACTION)


REFUSED = DeliveryError("recipient address b@example.net not accepted by the server",
                        exit_code=ExitCode.EX_DATAERR, smtp_status=550,
                        smtp_message=["550-5.1.1 unknown", "550 5.1.1 see \x1b[1mhere"])


def test_a_failure_prints_error_server_lines_and_the_account():
    assert failure_lines(FILE_ACCOUNT, outcome_of(REFUSED)) == [
        "recipient address b@example.net not accepted by the server",
        "server message: 550-5.1.1 unknown",
        "server message: 550 5.1.1 see ?[1mhere",  # msmtp's sanitize_string
        "could not send mail (account work from /home/u/.msmtprc)",
    ]


def test_an_account_without_a_file_just_could_not_send():
    lines = failure_lines(HOST_ACCOUNT, outcome_of(REFUSED, HOST_ACCOUNT))
    assert lines[-1] == "could not send mail"


def test_lmtp_refusals_are_listed_per_recipient():
    account = Account(name="l", conffile="/rc", host="h", protocol=Protocol.LMTP)
    outcome = DeliveryOutcome(
        exit_code=ExitCode.EX_UNAVAILABLE, envelope_from="a@x",
        recipients=(RecipientOutcome("ok@x", RecipientStatus.SENT, 250, ("250 ok",)),
                    RecipientOutcome("b@x", RecipientStatus.FAILED, 550, ("550 5.1.1 no",)),
                    RecipientOutcome("c@x", RecipientStatus.DEFERRED, 452, ("452 full",))),
        smtp_status=None, smtp_message=(), errormsg="delivery to one or more recipients failed",
        mailsize=10, failure=None, log_line="", started=0, finished=0)
    assert failure_lines(account, outcome) == [
        "the server refuses to send the mail to b@x", "LMTP server message: 550 5.1.1 no",
        "the server refuses to send the mail to c@x", "LMTP server message: 452 full",
        "could not send mail to all recipients (account l from /rc)",
    ]


def test_report_logs_then_raises_with_the_exit_code(tmp_path):
    log = tmp_path / "msmtp.log"
    account = Account(name="w", conffile="/rc", host="mx.example", logfile=str(log),
                      logfile_time_format="T")
    with pytest.raises(SendFailed) as caught:
        report(account, outcome_of(REFUSED, account))
    assert caught.value.exit_code == ExitCode.EX_DATAERR
    assert caught.value.message == "recipient address b@example.net not accepted by the server"
    assert log.read_text() == (
        "T host=mx.example tls=off auth=off from=a@example.org recipients=b@example.net "
        "smtpstatus=550 smtpmsg='550-5.1.1 unknown\\n550 5.1.1 see ?[1mhere' "
        "errormsg='recipient address b@example.net not accepted by the server' "
        "exitcode=EX_DATAERR\n")


def test_a_log_failure_after_a_failure_comes_last_and_keeps_the_exit_code():
    account = Account(name="w", conffile="/rc", host="h", logfile="/nonexistent/dir/log")
    with pytest.raises(SendFailed) as caught:
        report(account, outcome_of(REFUSED, account))
    assert caught.value.exit_code == ExitCode.EX_DATAERR
    assert caught.value.details[-2] == ("cannot log to /nonexistent/dir/log: cannot open: "
                                        "No such file or directory")
    assert caught.value.details[-1].startswith("log info was: host=h ")


def test_a_log_failure_after_success_still_exits_zero():
    account = Account(host="h", logfile="/nonexistent/dir/log")
    ok = DeliveryOutcome(exit_code=ExitCode.EX_OK, envelope_from="a@x",
                         recipients=(RecipientOutcome("b@x", RecipientStatus.SENT),),
                         smtp_status=250, smtp_message=("250 ok",), errormsg=None, mailsize=3,
                         failure=None, log_line="host=h …", started=0, finished=0)
    with pytest.raises(LogFailed) as caught:
        report(account, ok)
    assert caught.value.exit_code == ExitCode.EX_OK
    report(Account(host="h"), ok)  # nothing configured: nothing to say


@pytest.mark.parametrize(("error", "stage", "kind"), [
    (NetworkError("cannot locate host x: …", exit_code=ExitCode.EX_NOHOST), Stage.CONNECT,
     FailureKind.HOST_NOT_FOUND),
    (NetworkError("cannot connect …", exit_code=ExitCode.EX_TEMPFAIL), Stage.CONNECT,
     FailureKind.CONNECT_FAILED),
    (NetworkError("proxy failure: …", exit_code=ExitCode.EX_UNAVAILABLE), Stage.CONNECT,
     FailureKind.CONNECT_FAILED),
    (NetworkError("cannot bind …", exit_code=ExitCode.EX_OSERR), Stage.CONNECT,
     FailureKind.LOCAL_ERROR),
    (NetworkError("network read error: …", exit_code=ExitCode.EX_IOERR), Stage.TRANSACTION,
     FailureKind.CONNECTION_LOST),
    (NetworkError("network read error: …", exit_code=ExitCode.EX_IOERR), Stage.AUTH,
     FailureKind.CONNECTION_LOST),
    (TlsError("TLS handshake failed: …", exit_code=ExitCode.EX_PROTOCOL), Stage.CONNECT,
     FailureKind.TLS_FAILED),
    (ProtocolError("the server sent an invalid reply"), Stage.TRANSACTION,
     FailureKind.PROTOCOL_ERROR),
    (ProtocolError("the server sent an empty reply"), Stage.TRANSACTION,
     FailureKind.CONNECTION_LOST),
    (ProtocolError("cannot get initial OK message from server", smtp_status=421,
                   smtp_message=["421 bye"]), Stage.CONNECT, None),
    (ServerRejection("the server did not accept the mail", smtp_status=554,
                     smtp_message=["554 no"]), Stage.TRANSACTION, None),
    (MessageTooLarge("the mail is …"), Stage.TRANSACTION, FailureKind.BAD_MESSAGE),
    (CapabilityMissing("the server does not support DSN"), Stage.AUTH,
     FailureKind.LOCAL_ERROR),
    (DeliveryError("authentication failed (method PLAIN)", exit_code=ExitCode.EX_NOPERM,
                   smtp_status=535, smtp_message=["535 no"]), Stage.AUTH,
     FailureKind.LOCAL_ERROR),
    (ConfigError("cannot read output of 'pass x'"), Stage.AUTH, FailureKind.LOCAL_ERROR),
])
def test_failures_without_a_deciding_reply_have_a_kind(error, stage, kind):
    assert failure_kind(error, stage) is kind


def test_an_error_outcome_keeps_the_error_for_the_caller():
    error = ConfigError("cannot read output of 'x'")
    outcome = outcome_of(error)
    assert outcome.error is error and outcome.exit_code == ExitCode.EX_CONFIG
    assert outcome.smtp_status is None and outcome.undelivered == outcome.recipients
