"""``--send-now`` loads exactly the modules listed for it (``tests/support/per_mail.py``).

The direct send is measured against msmtp (docs/performance.md, issue item 4):
every module it loads is paid for on every mail.  A plain send (TLS and AUTH
off) loads neither the TLS layer nor the queue nor what the plain paths do
without (``typing``, ``dataclasses``, ``re``, ...); one with TLS (STARTTLS or
SMTPS) and AUTH adds the TLS and AUTH modules, and still neither the queue nor
what ``ssl`` does not load (``typing``, ``dataclasses``, ``datetime``,
``hashlib``, ...).
"""

from __future__ import annotations

import pytest

from tests.support.per_mail import NOTHING, SEND_NOW, SEND_NOW_TLS_AUTH, run_path

MAIL = b"To: b@example.test\nSubject: plain\n\n" + b"x" * 70 + b"\n"


def send_now(rc, mail: bytes = MAIL) -> tuple[int, list[str]]:
    return run_path(["--send-now", "-C", str(rc), "-t", "-i"], mail, {"HOME": "/nonexistent"},
                    program="smtpq-sendmail")


def test_a_plain_send_loads_only_its_listed_modules(smtp_sink, tmp_path):
    sink = smtp_sink()
    rc = tmp_path / "msmtprc"
    rc.write_text("defaults\nauth off\ntls off\nsyslog off\ntimeout 30\n\n"
                  f"account plain\nhost 127.0.0.1\nport {sink.port}\nfrom a@example.test\n\n"
                  "account default : plain\n")
    rc.chmod(0o600)
    code, loaded = send_now(rc)
    assert code == 0
    assert SEND_NOW.surprises(loaded) == NOTHING
    assert b"Subject: plain" in sink.messages(1)[0]


@pytest.mark.parametrize("mode", ["starttls", "smtps"])
def test_a_send_with_tls_and_auth_adds_only_the_tls_and_auth_modules(smtp_server, tmp_path, mode):
    # aiosmtpd counts only STARTTLS as TLS for its auth_require_tls, not SMTPS
    server = smtp_server(mode=mode, credentials={"user": "secret"},
                         auth_require_tls=mode == "starttls")
    starttls = "on" if mode == "starttls" else "off"
    rc = tmp_path / "msmtprc"
    rc.write_text("defaults\nsyslog off\ntimeout 30\n\n"
                  f"account secure\nhost 127.0.0.1\nport {server.port}\nfrom a@example.test\n"
                  f"tls on\ntls_starttls {starttls}\ntls_trust_file {server.ca_file}\n"
                  "auth on\nuser user\npassword secret\n\naccount default : secure\n")
    rc.chmod(0o600)
    code, loaded = send_now(rc)
    assert code == 0
    assert SEND_NOW_TLS_AUTH.surprises(loaded) == NOTHING
    assert len(server.messages) == 1
