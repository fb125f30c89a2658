"""msmtp's log line, checked against lines the real msmtp 1.8.23 wrote (reference §4.1)."""

from __future__ import annotations

import pytest

from smtpq.sender.config.settings import Account
from smtpq.sender.log import LogRecord, format_log_line
from smtpq.sender.log.line import sanitize
from smtpq.sender.sysexits import ExitCode

ALICE = LogRecord(host="127.0.0.1", tls=False, auth=False, from_="alice@example.org",
                  recipients=(), exit_code=0)
BOB = ALICE.replace(auth=True, user="bob", from_="bob@example.org")
BASE = LogRecord(host="h", tls=False, auth=False, from_="a", recipients=["x"], exit_code=69)

#: (record, the observed line without its time stamp)
OBSERVED = [
    (ALICE.replace(recipients=["carol@example.net", "dave@example.net"],
               exit_code=ExitCode.EX_OK, mailsize=207, smtp_reply=["250 2.0.0 Ok"]),
     "host=127.0.0.1 tls=off auth=off from=alice@example.org "
     "recipients=carol@example.net,dave@example.net mailsize=207 smtpstatus=250 "
     "smtpmsg='250 2.0.0 Ok' exitcode=EX_OK"),
    (LogRecord(host="127.0.0.1", tls=True, auth=True, user="bob", from_="bob@example.org",
               recipients=["x@example.net"], exit_code=0, mailsize=140,
               smtp_reply=["250 2.0.0 Ok: queued as 101"]),
     "host=127.0.0.1 tls=on auth=on user=bob from=bob@example.org recipients=x@example.net "
     "mailsize=140 smtpstatus=250 smtpmsg='250 2.0.0 Ok: queued as 101' exitcode=EX_OK"),
    (ALICE.replace(recipients=["good@example.net"], exit_code=ExitCode.EX_TEMPFAIL,
               errormsg="cannot connect to 127.0.0.1, port 2599: Connection refused"),
     "host=127.0.0.1 tls=off auth=off from=alice@example.org recipients=good@example.net "
     "errormsg='cannot connect to 127.0.0.1, port 2599: Connection refused' "
     "exitcode=EX_TEMPFAIL"),
    (LogRecord(host="no-such-host.invalid", tls=False, auth=False, from_="a@example.org",
               recipients=["x@example.net"], exit_code=ExitCode.EX_NOHOST,
               errormsg="cannot locate host no-such-host.invalid: Name or service not known"),
     "host=no-such-host.invalid tls=off auth=off from=a@example.org recipients=x@example.net "
     "errormsg='cannot locate host no-such-host.invalid: Name or service not known' "
     "exitcode=EX_NOHOST"),
    (ALICE.replace(recipients=["rcpt@example.net"], exit_code=ExitCode.EX_DATAERR,
               smtp_reply=["500 5.3.0 Error: command failed"],
               errormsg="recipient address rcpt@example.net not accepted by the server"),
     "host=127.0.0.1 tls=off auth=off from=alice@example.org recipients=rcpt@example.net "
     "smtpstatus=500 smtpmsg='500 5.3.0 Error: command failed' "
     "errormsg='recipient address rcpt@example.net not accepted by the server' "
     "exitcode=EX_DATAERR"),
    (ALICE.replace(recipients=["good@example.net", "baduser@example.net"],
               exit_code=ExitCode.EX_DATAERR,
               smtp_reply=["550 5.1.1 <baduser@example.net>: Recipient address rejected: "
                           "User unknown"],
               errormsg="recipient address baduser@example.net not accepted by the server"),
     "host=127.0.0.1 tls=off auth=off from=alice@example.org "
     "recipients=good@example.net,baduser@example.net smtpstatus=550 "
     "smtpmsg='550 5.1.1 <baduser@example.net>: Recipient address rejected: User unknown' "
     "errormsg='recipient address baduser@example.net not accepted by the server' "
     "exitcode=EX_DATAERR"),
    (ALICE.replace(recipients=["good@example.net"], exit_code=ExitCode.EX_UNAVAILABLE,
               smtp_reply=["451 4.3.0 Temporary local problem"],
               errormsg="the server did not accept the mail"),
     "host=127.0.0.1 tls=off auth=off from=alice@example.org recipients=good@example.net "
     "smtpstatus=451 smtpmsg='451 4.3.0 Temporary local problem' "
     "errormsg='the server did not accept the mail' exitcode=EX_UNAVAILABLE"),
    (ALICE.replace(recipients=["x@example.net"], exit_code=ExitCode.EX_UNAVAILABLE,
               smtp_reply=["554-5.7.1 It's rejected", "554 5.7.1 see https://example.org/why"],
               errormsg="the server did not accept the mail"),
     "host=127.0.0.1 tls=off auth=off from=alice@example.org recipients=x@example.net "
     "smtpstatus=554 smtpmsg='554-5.7.1 It?s rejected\\n554 5.7.1 see https://example.org/why' "
     "errormsg='the server did not accept the mail' exitcode=EX_UNAVAILABLE"),
    (ALICE.replace(recipients=["good@example.net"], exit_code=ExitCode.EX_IOERR,
               errormsg="network read error: the operation timed out"),
     "host=127.0.0.1 tls=off auth=off from=alice@example.org recipients=good@example.net "
     "errormsg='network read error: the operation timed out' exitcode=EX_IOERR"),
    (ALICE.replace(recipients=["good@example.net"], exit_code=ExitCode.EX_PROTOCOL,
               smtp_reply=["421 4.3.2 Service not available, closing"],
               errormsg="cannot get initial OK message from server"),
     "host=127.0.0.1 tls=off auth=off from=alice@example.org recipients=good@example.net "
     "smtpstatus=421 smtpmsg='421 4.3.2 Service not available, closing' "
     "errormsg='cannot get initial OK message from server' exitcode=EX_PROTOCOL"),
    (BOB.replace(recipients=["good@example.net"], exit_code=ExitCode.EX_NOPERM,
               smtp_reply=["535 5.7.8 Error: authentication failed: bad credentials"],
               errormsg="authentication failed (method PLAIN)"),
     "host=127.0.0.1 tls=off auth=on user=bob from=bob@example.org recipients=good@example.net "
     "smtpstatus=535 smtpmsg='535 5.7.8 Error: authentication failed: bad credentials' "
     "errormsg='authentication failed (method PLAIN)' exitcode=EX_NOPERM"),
    (BOB.replace(recipients=["good@example.net"], exit_code=ExitCode.EX_UNAVAILABLE,
               errormsg="cannot use a secure authentication method"),
     "host=127.0.0.1 tls=off auth=on user=bob from=bob@example.org recipients=good@example.net "
     "errormsg='cannot use a secure authentication method' exitcode=EX_UNAVAILABLE"),
    (LogRecord(host="127.0.0.1", tls=True, auth=True, user="bob", from_="bob@example.org",
               recipients=["x@example.net"], exit_code=ExitCode.EX_UNAVAILABLE,
               errormsg="TLS certificate verification failed: The certificate is NOT trusted. "
                        "The certificate issuer is unknown. The name in the certificate does "
                        "not match the expected. "),
     "host=127.0.0.1 tls=on auth=on user=bob from=bob@example.org recipients=x@example.net "
     "errormsg='TLS certificate verification failed: The certificate is NOT trusted. The "
     "certificate issuer is unknown. The name in the certificate does not match the "
     "expected. ' exitcode=EX_UNAVAILABLE"),
]


@pytest.mark.parametrize(("record", "line"), OBSERVED, ids=range(len(OBSERVED)))
def test_observed_msmtp_lines(record: LogRecord, line: str) -> None:
    assert format_log_line(record) == line


def test_socket_only_when_no_host_is_set() -> None:
    assert format_log_line(BASE.replace(host=None, socket="/run/s")).startswith(
        "socket=/run/s tls=off")
    assert format_log_line(BASE.replace(host="h", socket="/run/s")).startswith("host=h ")
    assert format_log_line(BASE.replace(host="", socket="/run/s")).startswith("host= ")


def test_user_only_with_auth_on() -> None:
    line = format_log_line(LogRecord(host="h", tls=False, auth=False, user="u", from_="a@b",
                                     recipients=["x"], exit_code=75))
    assert "user=" not in line


def test_mailsize_only_on_success_and_errormsg_only_on_failure() -> None:
    ok = LogRecord(host="h", tls=False, auth=False, from_="a", recipients=["x"], exit_code=0,
                   mailsize=9, errormsg="ignored")
    assert format_log_line(ok) == ("host=h tls=off auth=off from=a recipients=x mailsize=9 "
                                   "exitcode=EX_OK")
    failed = LogRecord(host="h", tls=False, auth=False, from_="a", recipients=["x"],
                       exit_code=69, mailsize=9, errormsg="")
    assert format_log_line(failed) == ("host=h tls=off auth=off from=a recipients=x "
                                       "exitcode=EX_UNAVAILABLE")


def test_quotes_and_control_characters_are_hidden_in_quoted_fields_only() -> None:
    record = LogRecord(host="h", tls=False, auth=False, from_="o'k@x", recipients=["x"],
                       exit_code=69, smtp_reply=["550 bad\tthing's\r"],
                       errormsg="it's\x01 broken\x7f")
    assert format_log_line(record) == (
        "host=h tls=off auth=off from=o'k@x recipients=x smtpstatus=550 "
        "smtpmsg='550 bad?thing?s?' errormsg='it?s? broken?' exitcode=EX_UNAVAILABLE")


def test_sanitize_keeps_non_ascii_text() -> None:
    assert sanitize("Grüße\x85\n") == "Grüße\x85?"


def test_smtp_status_is_the_leading_number_of_the_first_line_unless_given() -> None:
    assert "smtpstatus=0 " in format_log_line(BASE.replace(smtp_reply=["garbage"]))
    assert "smtpstatus=452 " in format_log_line(BASE.replace(smtp_reply=["452-a", "452 b"]))
    assert "smtpstatus=421 " in format_log_line(BASE.replace(smtp_reply=["x"],
                                                        smtp_status=421))


def test_null_sender_and_no_recipients() -> None:
    record = LogRecord(host="h", tls=False, auth=False, from_="", recipients=[], exit_code=64)
    # msmtp overwrites the "=" of "recipients=" when the list is empty.
    assert format_log_line(record) == "host=h tls=off auth=off from= recipients exitcode=EX_USAGE"


def test_record_for_an_account() -> None:
    account = Account(host="mail.example", tls=True, auth="PLAIN", user="joe", from_="j@x")
    record = LogRecord.for_account(account, ["a@b"], ExitCode.EX_OK, mailsize=3,
                                   smtp_reply=["250 ok"])
    assert format_log_line(record) == (
        "host=mail.example tls=on auth=on user=joe from=j@x recipients=a@b mailsize=3 "
        "smtpstatus=250 smtpmsg='250 ok' exitcode=EX_OK")
