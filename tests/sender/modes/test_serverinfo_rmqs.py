"""``--serverinfo`` and ``--rmqs`` in process, against scripted and aiosmtpd servers."""

from __future__ import annotations

import io

import pytest

from smtpq.sender.errors import SmtpqError, UsageError
from smtpq.sender.modes.rmqs import run_rmqs
from smtpq.sender.modes.serverinfo import run_serverinfo
from smtpq.sender.options import parse_args
from smtpq.sender.sysexits import ExitCode
from tests.sender.differential.harness import WireRecorder
from tests.support.aiosmtpd_server import free_port

ENV = {"HOME": "/nonexistent"}


def serverinfo(*argv: str) -> str:
    out = io.StringIO()
    assert run_serverinfo(parse_args(["-S", *argv]), env=ENV, prog="p", out=out) == 0
    return out.getvalue()


def rmqs(*argv: str) -> str:
    out = io.StringIO()
    assert run_rmqs(parse_args(list(argv)), env=ENV, prog="p", out=out) == 0
    return out.getvalue()


def started(scripted_server, **options) -> tuple[WireRecorder, list[str]]:
    recorder = WireRecorder(**options)
    server = scripted_server(recorder)
    return recorder, ["--host=127.0.0.1", f"--port={server.port}"]


def test_serverinfo_lists_capabilities_in_msmtps_order(scripted_server):
    _, where = started(scripted_server, greeting="220 fake.example ESMTP ready",
                       ehlo=("AUTH LOGIN PLAIN", "STARTTLS", "DSN", "ETRN", "PIPELINING",
                             "SIZE 10240000"))
    text = serverinfo(*where)
    assert text.splitlines()[1:] == [
        "    fake.example ESMTP ready", "Capabilities:",
        "    SIZE 10240000:", "        Maximum message size is 10240000 bytes = 9.77 MiB",
        "    PIPELINING:", "        Support for command grouping for faster transmission",
        "    ETRN:", "        Support for RMQS (Remote Message Queue Starting)",
        "    DSN:", "        Support for Delivery Status Notifications",
        "    STARTTLS:", "        Support for TLS encryption via the STARTTLS command",
        "    AUTH:", "        Supported authentication methods:", "        PLAIN LOGIN ",
        "This server might advertise more or other capabilities when TLS is active."]
    assert text.startswith("SMTP server at 127.0.0.1 (")


def test_serverinfo_keeps_listing_starttls_after_using_it(smtp_server):
    server = smtp_server(mode="starttls")
    text = serverinfo("--host=127.0.0.1", f"--port={server.port}", "--tls",
                      f"--tls-trust-file={server.ca_file}")
    assert "TLS certificate information:" in text
    assert "    STARTTLS:" in text and "might advertise more" not in text


def test_serverinfo_quits_before_printing(scripted_server):
    recorder, where = started(scripted_server)
    serverinfo(*where)
    assert recorder.connections[0] == ["EHLO localhost", "QUIT"]


def test_serverinfo_failures_have_no_could_not_send_line(scripted_server):
    _, where = started(scripted_server, greeting="554 5.3.2 go away")
    with pytest.raises(SmtpqError) as caught:
        serverinfo(*where)
    assert (caught.value.message, caught.value.details, caught.value.exit_code) == (
        "cannot get initial OK message from server", ("server message: 554 5.3.2 go away",),
        ExitCode.EX_PROTOCOL)


def test_serverinfo_refuses_recipients():
    with pytest.raises(UsageError, match="^too many arguments$"):
        serverinfo("--host=127.0.0.1", "x@example.net")


def test_serverinfo_of_an_unreachable_server():
    with pytest.raises(SmtpqError) as caught:
        serverinfo("--host=127.0.0.1", f"--port={free_port()}")
    assert caught.value.exit_code == ExitCode.EX_TEMPFAIL and caught.value.details == ()


@pytest.mark.parametrize("reply", ["250 started", "251 none", "252 pending", "253 4 started"])
def test_rmqs_success_prints_nothing(scripted_server, reply):
    recorder, where = started(scripted_server, ehlo=("ETRN",), replies={"ETRN": reply})
    assert rmqs(*where, "--rmqs=@example.org") == ""
    assert recorder.connections[0] == ["EHLO localhost", "ETRN @example.org", "QUIT"]


@pytest.mark.parametrize(("reply", "message", "code"), [
    ("458 unable", "the server is unable to fulfill the request", ExitCode.EX_UNAVAILABLE),
    ("459 not allowed", "the server is unable to fulfill the request", ExitCode.EX_UNAVAILABLE),
    ("500 syntax", "invalid argument for Remote Message Queue Starting", ExitCode.EX_DATAERR),
    ("501 syntax", "invalid argument for Remote Message Queue Starting", ExitCode.EX_DATAERR),
    ("550 what", "command ETRN failed", ExitCode.EX_PROTOCOL),
])
def test_rmqs_refusals(scripted_server, reply, message, code):
    _, where = started(scripted_server, ehlo=("ETRN",), replies={"ETRN": reply})
    with pytest.raises(SmtpqError) as caught:
        rmqs(*where, "--rmqs=x")
    assert (caught.value.message, caught.value.details, caught.value.exit_code) == (
        message, (f"server message: {reply}",), code)


def test_rmqs_without_etrn_quits_and_fails_before_auth(scripted_server):
    recorder, where = started(scripted_server, ehlo=("AUTH PLAIN",))
    with pytest.raises(SmtpqError) as caught:
        rmqs(*where, "--rmqs=x", "--auth=plain", "--user=u", "--passwordeval=echo p")
    assert caught.value.message == "the server does not support Remote Message Queue Starting"
    assert caught.value.exit_code == ExitCode.EX_UNAVAILABLE
    assert recorder.connections[0] == ["EHLO localhost", "QUIT"]


def test_rmqs_authenticates_before_etrn(smtp_server):
    from tests.support.sasl_handlers import SaslHandler

    users = {"bob": "pw"}
    server = smtp_server(handler=SaslHandler(users), credentials=users, auth_require_tls=False)
    # aiosmtpd has no ETRN: the check comes first, so AUTH is never tried
    with pytest.raises(SmtpqError, match="Remote Message Queue Starting"):
        rmqs("--host=127.0.0.1", f"--port={server.port}", "--rmqs=x", "--auth=plain",
             "--user=bob", "--passwordeval=echo pw")
    assert server.handler.attempts == []


def test_rmqs_authenticates_between_the_etrn_check_and_etrn(scripted_server):
    recorder, where = started(scripted_server, ehlo=("ETRN", "AUTH PLAIN"),
                              replies={"AUTH": "235 2.7.0 ok", "ETRN": "250 go"})
    rmqs(*where, "--rmqs=x", "--auth=plain", "--user=u", "--passwordeval=echo p")
    lines = recorder.connections[0]
    assert [x.split(" ")[0] for x in lines] == ["EHLO", "AUTH", "ETRN", "QUIT"]
