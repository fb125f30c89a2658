"""``--send-now`` in process: msmtp's order of checks, streaming, --debug, logging, reporting."""

from __future__ import annotations

import base64
import io
import socket
import tracemalloc

import pytest

from smtpq.cli.boundary import run
from smtpq.sender.errors import SendFailed, UsageError
from smtpq.sender.modes.send import run_send_now
from smtpq.sender.options import parse_args
from smtpq.sender.sysexits import ExitCode
from tests.sender.differential.harness import WireRecorder
from tests.support.scripted import Peer

ENV = {"HOME": "/nonexistent", "USER": "tester", "PYTHON_KEYRING_BACKEND":
       "keyring.backends.null.Keyring"}


def send(argv: list[str], mail: bytes, env: dict[str, str] | None = None) -> str:
    out = io.StringIO()
    run_send_now(parse_args(["--send-now", *argv]), env=env or ENV, stdin=io.BytesIO(mail),
                 prog="smtpq-sendmail", out=out)
    return out.getvalue()


@pytest.fixture
def wire(scripted_server):
    recorder = WireRecorder(ehlo=("PIPELINING",))
    server = scripted_server(recorder)
    recorder.args = ["--host=127.0.0.1", f"--port={server.port}"]  # type: ignore[attr-defined]
    return recorder


def test_no_recipients_is_found_before_any_configuration_is_read():
    with pytest.raises(UsageError, match="^no recipients found$"):
        send(["-C", "/nonexistent/rc"], b"Subject: x\n\n")


def test_the_mail_goes_out_with_msmtps_rewrites(wire):
    mail = b"To: t@example.net\nBcc: hidden@example.net\nSubject: s\n\nbody\n"
    assert send([*wire.args, "-t", "-f", "a@example.org"], mail) == ""
    record = wire.connections[0]
    assert "RCPT TO:<hidden@example.net>" in record
    data = [x for x in record if isinstance(x, tuple)][0][1]
    assert b"hidden" not in data and data.startswith(b"From: a@example.org\r\nDate: ")


def test_plain_sendmail_mode_sends_too_without_send_now(wire):
    out = io.StringIO()
    cmd = parse_args([*wire.args, "-f", "a@example.org", "b@example.net"])
    assert not cmd.send_now
    assert run_send_now(cmd, env=ENV, stdin=io.BytesIO(b"\n"), prog="p", out=out) == 0
    assert "RCPT TO:<b@example.net>" in wire.connections[0]


def test_a_refusal_is_logged_and_raised_with_msmtps_lines(wire, tmp_path):
    wire.replies["RCPT"] = "550 5.1.1 unknown"
    log = tmp_path / "log"
    with pytest.raises(SendFailed) as caught:
        send([*wire.args, "-f", "a@example.org", f"--logfile={log}",
              "--logfile-time-format=T", "b@example.net"], b"\n")
    assert (caught.value.message, caught.value.details) == (
        "recipient address b@example.net not accepted by the server",
        ("server message: 550 5.1.1 unknown", "could not send mail"))
    assert log.read_text().startswith("T host=127.0.0.1 tls=off auth=off from=a@example.org ")


def test_the_boundary_prints_it_all_and_exits_with_msmtps_code(wire, capsys):
    wire.replies["MAIL"] = "451 4.3.0 later"
    argv = [*wire.args, "-f", "a@example.org", "b@example.net"]
    code = run(lambda: run_send_now(parse_args(argv), env=ENV, stdin=io.BytesIO(b"\n"),
                                    prog="sendmail"), "sendmail")
    assert code == ExitCode.EX_UNAVAILABLE
    assert capsys.readouterr().err.splitlines() == [
        "sendmail: envelope from address a@example.org not accepted by the server",
        "sendmail: server message: 451 4.3.0 later", "sendmail: could not send mail"]


def test_debug_shows_configuration_and_transcript_but_never_the_password(smtp_server, tmp_path):
    from tests.support.sasl_handlers import SaslHandler

    users = {"bob": "s3cret"}
    server = smtp_server(handler=SaslHandler(users), credentials=users, auth_require_tls=False)
    secret_file = tmp_path / "pw"
    secret_file.write_text("s3cret\n")
    for method in ("plain", "login"):
        out = send(["--host=127.0.0.1", f"--port={server.port}", "-d", f"--auth={method}",
                    "--user=bob", f"--passwordeval=cat {secret_file}", "-f", "a@example.org",
                    "b@example.net"], b"Subject: d\n\nx\n")
        assert "using account specified on command line\nhost = 127.0.0.1\n" in out
        assert "password = *\n" in out and "<-- 220 " in out and "--> QUIT" in out
        for secret in ("s3cret", base64.b64encode(b"s3cret").decode(),
                       base64.b64encode(b"\0bob\0s3cret").decode()):
            assert secret not in out
        assert f"--> AUTH {method.upper()}" in out


class Endless(io.RawIOBase):
    """A mail of *size* bytes made up on the fly, as a 200 MB pipe would deliver it."""

    def __init__(self, size: int) -> None:
        self.left = size
        self.header = b"Subject: big\n\n"

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        if self.header:
            n = min(len(buffer), len(self.header))
            buffer[:n], self.header = self.header[:n], self.header[n:]
            return n
        n = min(len(buffer), self.left)
        line = (b"." + b"y" * 70 + b"\n") * (n // 72 + 1)
        buffer[:n] = line[:n]
        self.left -= n
        return n


def _discard(peer: Peer) -> None:
    """A server that counts the mail's bytes and keeps none of them."""
    peer.send("220 discard")
    while line := peer.line():
        verb = line[:4].upper()
        if verb == "DATA":
            peer.send("354 go")
            tail, total = peer.buffer, len(peer.buffer)
            while not tail.endswith(b"\r\n.\r\n"):
                chunk = peer.sock.recv(1 << 16)
                total += len(chunk)
                tail = (tail + chunk)[-5:]
            peer.buffer, peer.received = b"", total  # type: ignore[attr-defined]
            peer.send("250 ok")
        else:
            peer.send("221 bye" if verb == "QUIT" else "250 ok")
            if verb == "QUIT":
                return


def test_the_mail_is_streamed_not_held_in_memory(scripted_server):
    server = scripted_server(_discard)
    size = 30 * 1024 * 1024
    tracemalloc.start()
    try:
        run_send_now(parse_args(["--host=127.0.0.1", f"--port={server.port}", "-f", "a@x",
                                 "b@y"]), env=ENV, stdin=io.BufferedReader(Endless(size)),
                     prog="p", out=io.StringIO())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024
    # every line starts with "." and is stuffed: one more byte per 72
    assert server.peer.received > size  # type: ignore[attr-defined]


def test_no_traceback_escapes_for_odd_input(tmp_path):
    import subprocess

    from tests.support.programs import smtpq_sendmail

    port = socket.socket()
    port.bind(("127.0.0.1", 0))
    cases = [["--send-now", "-f", "a@x", "\x01@x"], ["--send-now", "-t"],
             ["--send-now", "--host=127.0.0.1", f"--port={port.getsockname()[1]}", "-f",
              "bad address<", "b@x"],
             ["--send-now", "--host=127.0.0.1", "--port=1", "-F", "a\nb", "-f", "a@x", "b@x"]]
    for argv in cases:
        done = subprocess.run([smtpq_sendmail(), *argv], input=b"\xff\xfe\x00garbage\n",
                              capture_output=True, timeout=30, env={"HOME": str(tmp_path)},
                              check=False)
        assert b"Traceback" not in done.stderr and done.returncode not in (0, 1, 70), argv
    port.close()
