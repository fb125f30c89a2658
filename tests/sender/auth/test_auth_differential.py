"""The real msmtp and smtpq against the same aiosmtpd server: same outcome, exit code and text.

Skips locally without msmtp; fails in CI (``CI=true``), where msmtp must be installed.
"""

from __future__ import annotations

import os
import shlex
import socket
import subprocess

import pytest

from smtpq.sender.auth.authenticate import authenticate
from smtpq.sender.config.settings import AUTH_CHOOSE
from smtpq.sender.errors import DeliveryError
from smtpq.sender.protocol.session import Session
from tests.sender.auth.conftest import USERS
from tests.support.programs import msmtp_binary

pytestmark = pytest.mark.msmtp


def msmtp_outcome(server, home, *, auth: str, user: str | None, password: str | None):
    """(exit status, stderr lines without the program name and the last "could not send")."""
    argv = [msmtp_binary(), "--host=127.0.0.1", f"--port={server.port}", "--from=a@example.org",
            f"--auth={auth or 'on'}"]
    if user is not None:
        argv.append(f"--user={user}")
    if password is not None:
        argv.append(f"--passwordeval=printf '%s\\n' {shlex.quote(password)}")
    env = {"HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C"}
    done = subprocess.run([*argv, "rcpt@example.net"], input=b"Subject: t\n\nbody\n",
                          capture_output=True, env=env, timeout=60, start_new_session=True)
    lines = [line.removeprefix("msmtp: ") for line in done.stderr.decode().splitlines()]
    return done.returncode, [line for line in lines if not line.startswith("could not send mail")]


def our_outcome(server, *, auth: str, user: str | None, password: str | None):
    account = server.account(auth=auth, user=user, password=password)
    try:
        with Session.open(account) as session:
            authenticate(session, account)
    except DeliveryError as error:
        return int(error.exit_code), [error.message, *error.details]
    return 0, []


CASES = [
    pytest.param("PLAIN", USERS["bob"], id="plain"),
    pytest.param("PLAIN", "wrong", id="plain-wrong-password"),
    pytest.param("LOGIN", USERS["bob"], id="login"),
    pytest.param("LOGIN", "wrong", id="login-wrong-password"),
    pytest.param("CRAM-MD5", USERS["bob"], id="cram-md5"),
    pytest.param("CRAM-MD5", "wrong", id="cram-md5-wrong-password"),
    pytest.param("SCRAM-SHA-256", USERS["bob"], id="scram-sha-256"),
    pytest.param("SCRAM-SHA-1", "wrong", id="scram-sha-1-wrong-password"),
    pytest.param("DIGEST-MD5", USERS["bob"], id="digest-md5"),
    pytest.param("DIGEST-MD5", "wrong", id="digest-md5-wrong-password"),
]


@pytest.mark.parametrize(("method", "password"), CASES)
def test_same_outcome_as_msmtp(sasl_server, no_password_sources, method, password):
    server = sasl_server()
    home = os.environ["HOME"]
    theirs = msmtp_outcome(server, home, auth=method.lower(), user="bob", password=password)
    ours = our_outcome(server, auth=method, user="bob", password=password)
    assert ours == theirs


@pytest.mark.parametrize(("mechanisms", "auth", "user", "password"), [
    pytest.param(["PLAIN", "LOGIN"], AUTH_CHOOSE, "bob", USERS["bob"], id="auth-on-without-tls"),
    pytest.param(["PLAIN", "LOGIN", "SCRAM-SHA-1"], AUTH_CHOOSE, None, "x", id="no-user"),
    pytest.param(["LOGIN"], "CRAM-MD5", "bob", USERS["bob"], id="method-not-announced"),
    pytest.param(["PLAIN"], "PLAIN", "bob", None, id="no-password-no-tty"),
])
def test_same_refusal_as_msmtp(sasl_server, no_password_sources, mechanisms, auth, user,
                               password):
    server = sasl_server(mechanisms=mechanisms)
    theirs = msmtp_outcome(server, os.environ["HOME"], auth=auth.lower(), user=user,
                           password=password)
    ours = our_outcome(server, auth=auth, user=user, password=password)
    assert ours == theirs
    assert server.handler.attempts == []


def test_same_refusal_when_the_server_has_no_auth(smtp_server, no_password_sources):
    server = smtp_server()
    theirs = msmtp_outcome(server, os.environ["HOME"], auth="plain", user="bob", password="x")
    ours = our_outcome(server, auth="PLAIN", user="bob", password="x")
    assert ours == theirs == (69, ["the server does not support authentication"])


def test_same_netrc_password_as_msmtp(sasl_server, no_password_sources):
    home = os.environ["HOME"]
    with open(os.path.join(home, ".netrc"), "w") as netrc:
        netrc.write("default login bob password wrong\n"
                    "machine 127.0.0.1 login alice password wrong\n"
                    f"machine 127.0.0.1 login bob password '{USERS['bob']}'\n")
    server = sasl_server(mechanisms=["PLAIN"])
    theirs = msmtp_outcome(server, home, auth="plain", user="bob", password=None)
    ours = our_outcome(server, auth="PLAIN", user="bob", password=None)
    assert ours == theirs == (0, [])


@pytest.mark.parametrize("password", [USERS["bob"], "wrong"], ids=["ntlm", "ntlm-wrong-password"])
def test_same_ntlm_outcome_as_msmtp(sasl_server, no_password_sources, tmp_path, monkeypatch,
                                    password):
    """msmtp's libntlm (NTLMv1, domain taken from the server's CHALLENGE) and pyspnego (NTLMv2)."""
    # libntlm takes the domain from the CHALLENGE: pyspnego's acceptor puts the host name there.
    users = tmp_path / "ntlm-users"
    users.write_text(f"TESTDOM:bob:{USERS['bob']}\n{socket.gethostname().upper()}:bob:{USERS['bob']}\n")
    monkeypatch.setenv("NTLM_USER_FILE", str(users))
    server = sasl_server(mechanisms=["NTLM"])
    theirs = msmtp_outcome(server, os.environ["HOME"], auth="ntlm", user="bob", password=password)
    account = server.account(auth="NTLM", user="bob", password=password, ntlmdomain="TESTDOM")
    try:
        with Session.open(account) as session:
            authenticate(session, account)
        ours = (0, [])
    except DeliveryError as error:
        ours = (int(error.exit_code), [error.message, *error.details])
    assert ours == theirs
