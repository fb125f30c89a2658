"""The exact AUTH bytes and the failure texts, each as msmtp 1.8.23 was observed to do it.

A scripted peer answers the AUTH exchange with fixed replies and records what
the client sent, so both the lines and the outcome can be compared with msmtp.
"""

from __future__ import annotations

import base64

import pytest

from smtpq.sender.auth.authenticate import authenticate
from smtpq.sender.config.settings import Account
from smtpq.sender.errors import DeliveryError
from smtpq.sender.protocol.session import Session
from smtpq.sender.sysexits import ExitCode


def auth_script(mechanisms: str, *replies: str):
    """Greet, announce ``AUTH <mechanisms>``, then answer each client line with the next reply."""
    def script(peer):
        peer.send("220 scripted ESMTP")
        peer.expect("EHLO")
        peer.send("250-scripted", f"250-AUTH {mechanisms}", "250 HELP")
        for reply in replies:
            count = len(peer.lines)
            peer.line()
            if len(peer.lines) == count:  # end of stream (an empty line is recorded)
                return
            peer.send(reply)
        peer.line()  # QUIT, or the end of the connection
    return script


def run(scripted_server, mechanisms: str, *replies: str, **settings):
    server = scripted_server(auth_script(mechanisms, *replies))
    account = Account(host="127.0.0.1", port=server.port, timeout=5, **settings)
    with Session.open(account) as session:
        method = authenticate(session, account)
    return method, server


def fail(scripted_server, mechanisms: str, *replies: str, **settings):
    server = scripted_server(auth_script(mechanisms, *replies))
    account = Account(host="127.0.0.1", port=server.port, timeout=5, **settings)
    with pytest.raises(DeliveryError) as caught, Session.open(account) as session:
        authenticate(session, account)
    return caught.value, server


def sent(server) -> list[str]:
    """What the client sent after EHLO (QUIT excluded)."""
    lines = server.peer.lines[1:]
    return [line for line in lines if line != "QUIT"]


def b64(text: bytes) -> str:
    return base64.b64encode(text).decode()


def test_plain_sends_the_credentials_on_the_auth_line(scripted_server):
    _, server = run(scripted_server, "PLAIN", "235 2.7.0 ok", auth="PLAIN", user="bob",
                    password="pw")
    assert sent(server) == ["AUTH PLAIN AGJvYgBwdw=="]  # observed from msmtp


def test_login_answers_the_prompts_without_reading_them(scripted_server):
    _, server = run(scripted_server, "LOGIN", "334 Username:", "334 Password:", "235 ok",
                    auth="LOGIN", user="bob", password="pw")
    assert sent(server) == ["AUTH LOGIN", "Ym9i", "cHc="]


def test_cram_md5_is_rfc_2195s_example(scripted_server):
    challenge = b"<1896.697170952@postoffice.reston.mci.net>"
    _, server = run(scripted_server, "CRAM-MD5", f"334 {b64(challenge)}", "235 ok",
                    auth="CRAM-MD5", user="tim", password="tanstaaftanstaaf")
    assert sent(server) == ["AUTH CRAM-MD5", b64(b"tim b913a602c7eda7a495b4e6e7334d3890")]


def test_oauthbearer_initial_response_is_msmtps(scripted_server):
    server = scripted_server(auth_script("OAUTHBEARER", "235 ok"))
    account = Account(host="127.0.0.1", port=server.port, auth="OAUTHBEARER", user="bob",
                      password="tok")
    with Session.open(account) as session:
        authenticate(session, account)
    expected = f"n,a=bob,\x01host=127.0.0.1\x01port={server.port}\x01auth=Bearer tok\x01\x01"
    assert sent(server) == [f"AUTH OAUTHBEARER {b64(expected.encode())}"]


def test_xoauth2_waits_for_the_servers_go_ahead(scripted_server):
    _, server = run(scripted_server, "XOAUTH2", "334 ", "235 ok", auth="XOAUTH2", user="bob",
                    password="tok")
    assert sent(server) == ["AUTH XOAUTH2", "dXNlcj1ib2IBYXV0aD1CZWFyZXIgdG9rAQE="]  # msmtp's


def test_xoauth2_without_the_go_ahead_is_a_protocol_error(scripted_server):
    error, _ = fail(scripted_server, "XOAUTH2", "535 5.7.8 no", auth="XOAUTH2", user="bob",
                    password="tok")
    assert error.message == "command AUTH XOAUTH2 failed"
    assert error.exit_code == ExitCode.EX_PROTOCOL
    assert error.details == ("server message: 535 5.7.8 no",)


def test_external_sends_the_user_after_the_go_ahead(scripted_server):
    _, server = run(scripted_server, "EXTERNAL", "334 ", "235 ok", auth="EXTERNAL", user="bob")
    assert sent(server) == ["AUTH EXTERNAL", "Ym9i"]


def test_external_without_user_sends_an_empty_response(scripted_server):
    """RFC 4422 App. A (msmtp 1.8.23 sends nothing and leaves the server waiting)."""
    _, server = run(scripted_server, "EXTERNAL", "334 ", "235 ok", auth="EXTERNAL")
    assert sent(server) == ["AUTH EXTERNAL", ""]


def test_any_other_reply_is_authentication_failed_even_504(scripted_server):
    error, _ = fail(scripted_server, "PLAIN", "504 5.5.4 no such mechanism", auth="PLAIN",
                    user="bob", password="pw")
    assert error.message == "authentication failed (method PLAIN)"
    assert error.exit_code == ExitCode.EX_NOPERM
    assert error.smtp_status == 504


def test_a_challenge_that_is_not_base64_is_msmtps_gnu_sasl_error(scripted_server):
    error, server = fail(scripted_server, "CRAM-MD5", "334 !!!notbase64", auth="CRAM-MD5",
                         user="bob", password="pw")
    assert error.message == "GNU SASL: Base 64 coding error in SASL library"
    assert error.exit_code == ExitCode.EX_SOFTWARE  # observed: msmtp exits 70
    assert sent(server) == ["AUTH CRAM-MD5"]


@pytest.mark.parametrize("server_first", [
    "bm90IHNjcmFt",  # "not scram"
    "cj1ub3QtbXktbm9uY2Uscz1jMkZzZEE9PSxpPTQwOTY=",  # a nonce that does not extend ours
])
def test_a_malformed_scram_challenge_fails_cleanly(scripted_server, server_first):
    error, _ = fail(scripted_server, "SCRAM-SHA-256", "334 ", f"334 {server_first}",
                    auth="SCRAM-SHA-256", user="bob", password="pw")
    assert error.message == "GNU SASL: SASL mechanism could not parse input"
    assert error.exit_code == ExitCode.EX_SOFTWARE


def test_scram_does_not_accept_235_without_the_server_signature(scripted_server):
    def script(peer):
        import scramp

        peer.send("220 x")
        peer.expect("EHLO")
        peer.send("250-x", "250 AUTH SCRAM-SHA-256")
        peer.expect("AUTH SCRAM-SHA-256")
        peer.send("334 ")
        mech = scramp.ScramMechanism("SCRAM-SHA-256")
        scram = mech.make_server(lambda user: mech.make_auth_info("pw"))
        scram.set_client_first(base64.b64decode(peer.line()).decode())
        peer.send("334 " + b64(scram.get_server_first().encode()))
        peer.line()
        peer.send("235 2.7.0 trust me")
        peer.line()

    server = scripted_server(script)
    account = Account(host="127.0.0.1", port=server.port, auth="SCRAM-SHA-256", user="bob",
                      password="pw")
    with pytest.raises(DeliveryError) as caught, Session.open(account) as session:
        authenticate(session, account)
    # msmtp (observed) feeds the 235 text to GNU SASL and reports its base64 error
    assert caught.value.message == "GNU SASL: Base 64 coding error in SASL library"
    assert caught.value.exit_code == ExitCode.EX_SOFTWARE


def test_digest_md5_does_not_accept_235_without_rspauth(scripted_server):
    challenge = b64(b'realm="r",nonce="n",qop="auth",charset=utf-8,algorithm=md5-sess')
    error, _ = fail(scripted_server, "DIGEST-MD5", f"334 {challenge}", "235 2.7.0 trust me",
                    auth="DIGEST-MD5", user="bob", password="pw")
    assert error.message == "GNU SASL: Base 64 coding error in SASL library"


def test_an_unfinished_exchange_is_never_taken_for_success(scripted_server):
    """msmtp 1.8.23 ignores a second CRAM-MD5 challenge and goes on to MAIL (observed); we stop."""
    challenge = b64(b"<1.2@x>")
    error, _ = fail(scripted_server, "CRAM-MD5", f"334 {challenge}", f"334 {challenge}",
                    auth="CRAM-MD5", user="bob", password="pw")
    assert error.message == "GNU SASL: SASL mechanism called too many times"
    assert error.exit_code == ExitCode.EX_SOFTWARE


@pytest.mark.parametrize("challenge", ["bm9uY2U9IngiLHFvcD0iYXV0aC1jb25mIg==",  # no plain auth
                                       "cmVhbG09InIi"])  # no nonce
def test_a_digest_md5_challenge_we_cannot_answer_fails_cleanly(scripted_server, challenge):
    error, _ = fail(scripted_server, "DIGEST-MD5", f"334 {challenge}", auth="DIGEST-MD5",
                    user="bob", password="pw")
    assert error.message == "GNU SASL: SASL mechanism could not parse input"


def test_a_digest_md5_server_with_a_wrong_rspauth_is_not_trusted(scripted_server):
    challenge = b64(b'realm="r",nonce="n",qop="auth",charset=utf-8,algorithm=md5-sess')
    error, _ = fail(scripted_server, "DIGEST-MD5", f"334 {challenge}",
                    f"334 {b64(b'rspauth=00000000000000000000000000000000')}",
                    auth="DIGEST-MD5", user="bob", password="pw")
    assert error.message == "GNU SASL: Error authenticating user"


def test_an_ntlm_challenge_that_is_not_ntlm_fails_cleanly(scripted_server):
    error, _ = fail(scripted_server, "NTLM", "334 ", f"334 {b64(b'garbage')}", auth="NTLM",
                    user="bob", password="pw")
    assert error.message == "GNU SASL: SASL mechanism could not parse input"
    assert error.exit_code == ExitCode.EX_SOFTWARE
