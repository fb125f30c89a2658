"""Security: TLS is verified, never downgraded, AUTH never in plain text, the password never shown.

Already specified elsewhere (not repeated here): certificate checks one by one
(``tests/sender/tls/test_tls_verification.py``), STARTTLS refused/not offered
in ``--send-now`` (``tests/sender/tls/test_tls_modes.py``), credential
redaction in ``--pretend``/``--debug`` listings and passwordeval failures
(``tests/sender/auth/test_auth_secrets.py``), no password in the stored
options or the log (``tests/queue/enqueue/test_enqueue_semantics.py``), a private
queue under umask 000 (same file and ``tests/queue/enqueue/test_queue_enqueue_sqlite.py``),
msmtp's permission check on the configuration (``tests/sender/config/test_config_permissions.py``).

Here: the same promises through the queue (``smtpq flush`` and the detached
background flusher), and the password absent from every place it could leak
to: the SQLite files' bytes, ``smtpq show --json``/``list``, the flusher's
``/proc/PID/cmdline`` and environment, ``--pretend``, ``--debug`` and error text.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.certs import TlsMaterial
from tests.support.faults import FaultServer
from tests.support.queue_home import QueueHome, queue_home, wait_until  # noqa: F401

PASSWORD = "s3cret-pw-7Qx"
#: What AUTH PLAIN/LOGIN would put on the wire: never in a log or a listing either.
ENCODED = (base64.b64encode(f"\0me\0{PASSWORD}".encode()).decode(),
           base64.b64encode(PASSWORD.encode()).decode())
MAIL = b"From: me@example.org\nTo: you@example.net\nSubject: secure\n\nhello\n"


@pytest.fixture
def servers(tls_material: TlsMaterial) -> Iterator[list[FaultServer]]:
    made: list[FaultServer] = []
    yield made
    for server in made:
        server.heal()
        server.stop()


@pytest.fixture
def fault_server(servers: list[FaultServer], tls_material: TlsMaterial):  # type: ignore[no-untyped-def]
    def start(**options) -> FaultServer:  # type: ignore[no-untyped-def]
        server = FaultServer(tls_material, credentials={"me": PASSWORD}, stall=2, **options)
        servers.append(server)
        return server
    return start


def account(home: QueueHome, server: FaultServer, *lines: str) -> None:
    home.account(server.port, "user me", f"password {PASSWORD}", "timeout 2", *lines,
                 logfile=home.home / "msmtp.log")


def queued_then_flushed(home: QueueHome) -> object:
    home.sendmail(MAIL)
    home.flush()
    (message,) = home.messages()
    return home.detail(message.id)


def assert_no_secret(*texts: str | bytes) -> None:
    for text in texts:
        raw = text if isinstance(text, bytes) else text.encode()
        for secret in (PASSWORD, *ENCODED):
            assert secret.encode() not in raw, f"{secret!r} leaked"


def after_ehlo(server: FaultServer) -> list[str]:
    """The commands the server got after its (last) EHLO, verbs only."""
    verbs = [c.split(" ", 1)[0].upper() for c in server.commands]
    last = len(verbs) - 1 - verbs[::-1].index("EHLO")
    return verbs[last + 1:]


# -- TLS ------------------------------------------------------------------------------

def test_tls_is_verified_by_default_against_the_system_trust(queue_home, fault_server) -> None:
    # `tls on` without tls_trust_file: the system's CAs, which do not know the test CA.
    server = fault_server()
    account(queue_home, server, "tls on", "auth on")

    detail = queued_then_flushed(queue_home)

    assert detail.status.value == "deferred"
    assert detail.history[-1].exit_code == 69  # msmtp: certificate failure, EX_UNAVAILABLE
    assert "TLS certificate verification failed" in detail.history[-1].log_line
    assert server.accepted == [] and after_ehlo(server) == ["STARTTLS"]


@pytest.mark.parametrize("downgrade", ["not offered", "454"])
def test_a_starttls_downgrade_never_continues_in_plain_text(
        queue_home, fault_server, tls_material, downgrade) -> None:
    server = fault_server(offer_starttls=downgrade != "not offered")
    if downgrade == "454":
        server.inject("starttls", "454")
    account(queue_home, server, "tls on", f"tls_trust_file {tls_material.ca_file}", "auth on")

    detail = queued_then_flushed(queue_home)

    assert detail.status.value == "deferred"
    assert detail.history[-1].exit_code in (69, 76)
    # Nothing after EHLO but the STARTTLS that was refused and a QUIT: no AUTH, no MAIL.
    assert set(after_ehlo(server)) <= {"STARTTLS", "QUIT"}
    assert server.accepted == []
    assert_no_secret("\n".join(server.commands))


def test_no_plain_text_auth_without_tls(queue_home, fault_server) -> None:
    server = fault_server(offer_starttls=False)
    account(queue_home, server, "auth on")  # tls off: PLAIN/LOGIN must not be chosen

    detail = queued_then_flushed(queue_home)

    assert detail.status.value == "deferred"
    assert detail.history[-1].exit_code == 69  # msmtp: SMTP_EINSECURE, EX_UNAVAILABLE
    assert "AUTH" not in after_ehlo(server)
    assert_no_secret("\n".join(server.commands))


def test_plain_text_auth_without_tls_only_when_forced(queue_home, fault_server) -> None:
    server = fault_server(offer_starttls=False)
    account(queue_home, server, "auth plain")  # the user asked for it by name

    detail = queued_then_flushed(queue_home)

    assert detail.status.value == "sent"
    assert "AUTH" in after_ehlo(server)


# -- the password, wherever it could show -----------------------------------------------

def test_the_password_is_in_no_byte_of_the_queue_nor_in_any_listing(
        queue_home, fault_server, tls_material) -> None:
    server = fault_server()
    # A wrong password first: the failure is recorded with the server's reply.
    queue_home.account(server.port, "tls on", f"tls_trust_file {tls_material.ca_file}",
                       "auth on", "user me", "password wrong-" + PASSWORD, "timeout 2",
                       logfile=queue_home.home / "msmtp.log")
    detail = queued_then_flushed(queue_home)
    assert detail.history[-1].exit_code == 77
    account(queue_home, server, "tls on", f"tls_trust_file {tls_material.ca_file}", "auth on")
    queue_home.flush("--now")
    assert queue_home.detail(detail.id).status.value == "sent"

    files = list(queue_home.database.parent.iterdir())
    shown = queue_home.smtpq("show", str(detail.id), "--json")
    listed = queue_home.smtpq("list", "--all", "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["history"] and listed.returncode == 0
    assert_no_secret(*(p.read_bytes() for p in files if p.is_file()), shown.stdout,
                     shown.stderr, listed.stdout, listed.stderr,
                     (queue_home.home / "msmtp.log").read_bytes())
    for p in files:
        assert b"wrong-" + PASSWORD.encode() not in (p.read_bytes() if p.is_file() else b"")


def test_the_background_flusher_carries_no_password_in_its_command_line_or_environment(
        queue_home, fault_server, tls_material) -> None:
    server = fault_server()
    server.inject("greeting", "stall")  # keep the flusher busy while we look at it
    queue_home.configure(after_enqueue="flush")
    account(queue_home, server, "tls on", f"tls_trust_file {tls_material.ca_file}",
            "auth on")

    queue_home.sendmail(MAIL)
    pids = wait_until(queue_home.flushers, message="a background flusher")

    for pid in pids:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        environ = Path(f"/proc/{pid}/environ").read_bytes()
        assert b"flush" in cmdline
        assert_no_secret(cmdline, environ)


def test_passwordeval_output_is_never_echoed(queue_home, fault_server, tls_material) -> None:
    server = fault_server()
    # The command's output ("evalpw-9Zk") appears nowhere in the command itself.
    evaluated = b"evalpw-9Zk"
    queue_home.account(server.port, "tls on", f"tls_trust_file {tls_material.ca_file}",
                       "auth on", "user me", "passwordeval printf 'evalpw-%s' 9Zk",
                       "timeout 2", logfile=queue_home.home / "msmtp.log")

    now = queue_home.sendmail(MAIL, "--send-now", "-t", ok=False)
    pretend = queue_home.sendmail(MAIL, "--pretend", "-t", ok=False)
    debug = queue_home.sendmail(MAIL, "--send-now", "--debug", "-t", ok=False)
    queue_home.sendmail(MAIL)
    queue_home.flush()

    assert now.returncode == 77 and "authentication failed" in now.stderr.decode()
    assert b"passwordeval" in pretend.stdout  # the command may be shown, never its output
    wire = base64.b64encode(b"\0me\0" + evaluated)
    for text in (now.stdout, now.stderr, pretend.stdout, pretend.stderr, debug.stdout,
                 debug.stderr, (queue_home.home / "msmtp.log").read_bytes(),
                 *(p.read_bytes() for p in queue_home.database.parent.iterdir())):
        assert evaluated not in text and wire not in text


def test_debug_and_pretend_and_errors_never_show_the_password(
        queue_home, fault_server, tls_material) -> None:
    server = fault_server()
    account(queue_home, server, "tls on", f"tls_trust_file {tls_material.ca_file}", "auth on")

    debug = queue_home.sendmail(MAIL, "--send-now", "--debug", "-t")
    pretend = queue_home.sendmail(MAIL, "--pretend", "-t")
    server.inject("auth", "554")  # AUTH refused: the error goes to stderr
    failed = queue_home.sendmail(MAIL, "--send-now", "--debug", "-t", ok=False)

    assert b"AUTH" in debug.stdout + debug.stderr  # the dialogue is shown, the secret is not
    assert failed.returncode == 77
    assert_no_secret(debug.stdout, debug.stderr, pretend.stdout, pretend.stderr,
                     failed.stdout, failed.stderr, (queue_home.home / "msmtp.log").read_bytes())


def test_the_queue_directory_is_private_even_when_created_by_the_flusher(queue_home) -> None:
    # `smtpq flush` on a queue that does not exist yet, under umask 000.
    import stat
    import subprocess

    from tests.support.queue_home import SMTPQ

    result = subprocess.run([SMTPQ, "flush"], env=queue_home.env, capture_output=True,
                            preexec_fn=lambda: os.umask(0), timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    directory = queue_home.database.parent
    if directory.exists():  # reading a missing queue may rightly create nothing
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
        for path in directory.iterdir():
            assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path.name


# -- a server that repeats the credentials (issue 14 point 4) ------------------------------

def test_credentials_a_server_echoes_are_blanked_everywhere(
        queue_home, fault_server, tls_material) -> None:
    wrong = "wrong-" + PASSWORD
    payload = base64.b64encode(f"\0me\0{wrong}".encode()).decode()
    server = fault_server(echo_credentials=True)
    account(queue_home, server, "tls on", f"tls_trust_file {tls_material.ca_file}", "auth on")
    queue_home.account(server.port, "tls on", f"tls_trust_file {tls_material.ca_file}",
                       "auth on", "user me", f"password {wrong}", "timeout 2",
                       logfile=queue_home.home / "msmtp.log")

    now = queue_home.sendmail(MAIL, "--send-now", "-t", ok=False)
    debug = queue_home.sendmail(MAIL, "--send-now", "--debug", "-t", ok=False)
    queue_home.sendmail(MAIL)
    flushed = queue_home.flush("-v")
    (message,) = queue_home.messages()
    shown = queue_home.smtpq("show", str(message.id), "--json")

    assert now.returncode == debug.returncode == 77
    assert b"535" in now.stderr and b"rejected" in now.stderr  # the reply is kept, blanked
    assert b"me:* rejected" in debug.stdout + debug.stderr
    history = json.loads(shown.stdout)["history"]
    assert history and "*" in history[-1]["smtp_message"]
    database_files = [p.read_bytes() for p in queue_home.database.parent.iterdir() if p.is_file()]
    for text in (now.stdout, now.stderr, debug.stdout, debug.stderr, flushed.stdout,
                 flushed.stderr, shown.stdout, shown.stderr,
                 (queue_home.home / "msmtp.log").read_bytes(), *database_files):
        for secret in (wrong, payload, base64.b64encode(wrong.encode()).decode()):
            assert secret.encode() not in text, secret
