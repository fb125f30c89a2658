"""Passwords and tokens never show: not on the debug transcript, in errors, or in a repr."""

from __future__ import annotations

import base64
import io

import pytest

from smtpq.sender.auth.authenticate import authenticate
from smtpq.sender.auth.sasl import Credentials, create_mechanism
from smtpq.sender.errors import DeliveryError
from smtpq.sender.protocol.session import Session
from smtpq.sender.protocol.transcript import debug_printer
from tests.sender.auth.conftest import TOKENS, USERS

SECRET_METHODS = {"PLAIN": USERS["bob"], "LOGIN": USERS["bob"], "CRAM-MD5": USERS["bob"],
                  "SCRAM-SHA-1": USERS["bob"], "SCRAM-SHA-256": USERS["bob"],
                  "DIGEST-MD5": USERS["bob"], "OAUTHBEARER": TOKENS["bob"],
                  "XOAUTH2": TOKENS["bob"], "NTLM": USERS["bob"]}


class Recorder:
    """An AuthChannel in front of a real session that records the ``secret`` flag of each line."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.auth_methods = session.auth_methods
        self.tls_active = session.tls_active
        self.server_host = session.server_host
        self.lines: list[tuple[str, bool]] = []

    def command(self, line: str, *, secret: bool = False):
        self.lines.append((line, secret))
        return self.session.command(line, secret=secret)


def forms_of(secret: str) -> list[str]:
    raw = secret.encode()
    return [secret, base64.b64encode(raw).decode(), base64.b64encode(b"\0bob\0" + raw).decode()]


@pytest.mark.parametrize("method", sorted(SECRET_METHODS))
@pytest.mark.parametrize("right", [True, False], ids=["accepted", "rejected"])
def test_every_credential_line_is_marked_secret_and_redacted(
        sasl_server, no_password_sources, tmp_path, monkeypatch, method, right):
    users_file = tmp_path / "ntlm"
    users_file.write_text(f"TESTDOM:bob:{USERS['bob']}\n")
    monkeypatch.setenv("NTLM_USER_FILE", str(users_file))
    secret = SECRET_METHODS[method] if right else "wrong-" + SECRET_METHODS[method]
    server = sasl_server()
    account = server.account(auth=method, user="bob", password=secret, ntlmdomain="TESTDOM")
    out = io.StringIO()
    error = None
    with Session.open(account, transcript=debug_printer(out)) as session:
        channel = Recorder(session)
        try:
            authenticate(channel, account)
        except DeliveryError as exc:
            error = exc
    assert (error is None) == right
    auth_line, *responses = channel.lines
    assert auth_line[0].startswith(f"AUTH {method}")
    assert all(secret_flag for _, secret_flag in responses)
    if len(auth_line[0].split()) > 2:  # an initial response on the AUTH line
        assert auth_line[1]
    transcript = out.getvalue()
    for form in forms_of(secret):
        assert form not in transcript
        assert error is None or form not in str(error) + repr(error) + "".join(error.details)


def test_mechanisms_and_credentials_do_not_show_the_password():
    credentials = Credentials(user="bob", password="hunter2", host="h", port=25)
    assert "hunter2" not in repr(credentials)
    for method in ("PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-256", "DIGEST-MD5", "XOAUTH2",
                   "OAUTHBEARER", "EXTERNAL", "NTLM"):
        mechanism = create_mechanism(method, credentials)
        assert "hunter2" not in repr(mechanism)
        assert "hunter2" not in str(vars(mechanism).get("credentials"))


def test_a_passwordeval_failure_names_the_command_not_its_output():
    from smtpq.sender.auth.passwords import run_passwordeval
    from smtpq.sender.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        run_passwordeval("echo hunter2 >&2")
    assert caught.value.message == "cannot read output of 'echo hunter2 >&2'"


def test_a_reply_that_echoes_the_payload_is_blanked_before_anyone_sees_it(
        sasl_server, no_password_sources):
    wrong = "wrong-" + USERS["bob"]
    server = sasl_server(mechanisms=("PLAIN",), handler_options={"echo_payload": True})
    account = server.account(auth="PLAIN", user="bob", password=wrong)
    out = io.StringIO()
    with Session.open(account, transcript=debug_printer(out)) as session, \
            pytest.raises(DeliveryError) as caught:
        authenticate(session, account)
    error = caught.value
    shown = out.getvalue() + str(error) + repr(error) + "".join(error.details)
    assert error.exit_code == 77
    assert "535 5.7.8 for bob:* (*)" in out.getvalue()  # the user name stays readable
    assert "bad credentials *" in "".join(error.details)
    for form in [*forms_of(wrong), f"bob:{wrong}"]:
        assert form not in shown


def test_every_form_of_a_sent_credential_is_blanked_and_nothing_else():
    from smtpq.sender.protocol.redaction import Secrets

    secrets = Secrets("bob")
    token = "ya29.tok"
    xoauth2 = base64.b64encode(f"user=bob\x01auth=Bearer {token}\x01\x01".encode()).decode()
    secrets.note_sent(f"AUTH XOAUTH2 {xoauth2}")
    secrets.note_sent("=")  # an empty initial response hides nothing
    login_user = base64.b64encode(b"bob").decode()
    secrets.note_sent(login_user)  # AUTH LOGIN's user name line
    assert secrets.text(f"x {xoauth2} y") == "x * y"
    assert secrets.text(f"token {token} of bob") == "token * of bob"
    assert secrets.text("Bearer " + token) == "*"
    assert secrets.text("= stays =") == "= stays ="
    assert secrets.raw_line("535-5.7.8 ya29.tok\r\n") == "535-5.7.8 *\r\n"
    assert not Secrets()
