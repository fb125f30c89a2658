"""msmtp's commonest traps end with a hint saying what to change; msmtp's lines stay as they are.

For each trap of the reference (§0.9, §5.8, §7.7, §7.9) the real failure is
produced with the installed programs:

* the implicit ``default`` account (``account default was already defined``);
* a password in a user file others can read, or that another user owns;
* ``auth on`` without TLS against a server offering only PLAIN/LOGIN
  (``cannot use a secure authentication method``);
* ``tls_starttls off`` against a plain-text port
  (``TLS handshake failed: An unexpected TLS packet was received.``), and a
  STARTTLS/plain account on port 465 (the greeting never comes).

The first line and the exit code are msmtp's (compared with the real msmtp
where it is installed); the hint line follows on a terminal or with
``SMTPQ_HINTS=1``, and never with ``SMTPQ_HINTS=0`` or in a pipe, which is what
scripts, mail clients and the differential tests see.  The delivery hints
come from ``smtpq.sender.tls.hints.failure_hints``, checked here against the
real messages, and printed by ``--send-now`` after msmtp's lines.
"""

from __future__ import annotations

import os
import pty
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from smtpq.sender.config.settings import Account
from smtpq.sender.tls.hints import failure_hints
from tests.support.other_user import nobody
from tests.support.programs import in_ci, needs
from tests.support.queue_home import SENDMAIL

IMPLICIT_DEFAULT = ("host 127.0.0.1\nfrom me@example.org\n"
                    "account work\nhost smtp.example.org\naccount default : work\n")
MAIL = b"Subject: t\n\nhi\n"


def run(argv: list[str], home: Path, *, hints: str | None = None, tty: bool = False,
        ) -> tuple[int, list[str]]:
    """Exit code and stderr lines (program name replaced by PROG) of *argv* in *home*."""
    env = {"HOME": str(home), "PATH": os.environ["PATH"], "LC_ALL": "C.UTF-8"}
    if argv[0] == "setpriv":
        env = nobody().env(env)
    if hints is not None:
        env["SMTPQ_HINTS"] = hints
    if tty:
        code, err = _on_a_terminal(argv, env, home)
    else:
        result = subprocess.run(argv, input=MAIL, capture_output=True, env=env, cwd=home,
                                timeout=30, check=False)
        code, err = result.returncode, result.stderr.decode()
    prog = os.path.basename(argv[0]) if not argv[0].startswith("setpriv") else None
    lines = err.splitlines()
    for name in filter(None, (prog, "smtpq-sendmail", "msmtp")):
        lines = [line.replace(f"{name}: ", "PROG: ", 1) if line.startswith(f"{name}: ")
                 else line for line in lines]
    return code, lines


def _on_a_terminal(argv: list[str], env: dict[str, str], home: Path) -> tuple[int, str]:
    leader, follower = pty.openpty()
    try:
        result = subprocess.run(argv, input=MAIL, stdout=subprocess.DEVNULL, stderr=follower,
                                env=env, cwd=home, timeout=30, check=False)
    finally:
        os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # EIO: the terminal has no writer left
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    return result.returncode, b"".join(chunks).decode().replace("\r\n", "\n")


def msmtp_lines(argv: list[str], home: Path) -> tuple[int, list[str]] | None:
    """The real msmtp's result for the same arguments, if msmtp is there (always in CI)."""
    msmtp = shutil.which("msmtp")
    if msmtp is None:
        if in_ci():
            pytest.fail("msmtp is not installed, but CI must compare with it")
        return None
    return run([msmtp if a == SENDMAIL else a for a in argv], home)


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory uid 65534 can enter (pytest's tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="smtpq-hint-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


# -- configuration traps: printed by the error boundary ------------------------------------

def test_implicit_default_account(tmp_path: Path) -> None:
    rc = tmp_path / ".msmtprc"
    rc.write_text(IMPLICIT_DEFAULT)
    rc.chmod(0o600)
    argv = [SENDMAIL, "bob@example.net"]
    first = f"PROG: {rc}: line 5: account default was already defined"

    assert run(argv, tmp_path) == (78, [first])  # a pipe: msmtp's line only
    assert run(argv, tmp_path, hints="0", tty=True) == (78, [first])
    for shown in (run(argv, tmp_path, hints="1"), run(argv, tmp_path, tty=True)):
        code, lines = shown
        assert (code, lines[0], len(lines)) == (78, first, 2)
        assert lines[1].startswith("PROG: hint: ") and "'defaults'" in lines[1]
    assert msmtp_lines(argv, tmp_path) in (None, (78, [first]))


@pytest.mark.parametrize(("mode", "owner", "problem", "fix"), [
    (0o644, 65534, "must have no more than user read/write permissions", "chmod 600"),
    (0o644, 0, "must be owned by you", "chown nobody"),
], ids=["readable-by-others", "owned-by-root"])
def test_password_in_an_insecure_file(shared_dir: Path, mode: int, owner: int, problem: str,
                                      fix: str) -> None:
    needs(os.geteuid() == 0 and shutil.which("setpriv") is not None,
          "needs root and setpriv to run as another user (the check is skipped for root)")
    tmp_path = shared_dir
    rc = tmp_path / "rc"
    rc.write_text("account default\nhost 127.0.0.1\nfrom me@example.org\nauth on\nuser me\n"
                  "password secret\n")
    os.chown(rc, owner, owner)
    rc.chmod(mode)
    argv = nobody().argv("smtpq-sendmail", "-C", str(rc), "bob@example.net")
    first = f"PROG: {rc}: contains secrets and therefore {problem}"

    assert run(argv, tmp_path) == (78, [first])
    code, lines = run(argv, tmp_path, hints="1")
    assert (code, lines[0]) == (78, first)
    what, as_root = ("private", "") if "chmod" in fix else ("yours", " (as root)")
    hint = (f"PROG: hint: make the file {what}: {fix} {rc}{as_root}; or keep "
            "the password out of the file with 'passwordeval'")
    assert lines[1:] == [hint]
    assert msmtp_lines(argv, tmp_path) in (None, (78, [first]))


# -- delivery traps: msmtp's message, and the hint failure_hints gives for it ----------------

def send_now(tmp_path: Path, *options: str, hints: str | None = None) -> tuple[int, list[str]]:
    return run([SENDMAIL, "--send-now", "--host=127.0.0.1", "-f", "me@example.org",
                "--timeout=1", *options, "bob@example.net"], tmp_path, hints=hints)


def test_auth_without_tls(tmp_path: Path, smtp_server) -> None:
    server = smtp_server(credentials={"me": "pw"}, auth_require_tls=False)
    code, lines = send_now(tmp_path, f"--port={server.port}", "--auth=on", "--user=me",
                           "--passwordeval=echo pw")
    assert (code, lines) == (69, ["PROG: cannot use a secure authentication method",
                                  "PROG: could not send mail"])
    (hint,) = failure_hints(Account(port=server.port, auth="on"), lines[0][6:])
    assert "'tls on'" in hint and "'auth plain'" in hint
    assert failure_hints(Account(port=587, auth="on", tls=True), lines[0][6:]) == ()


def test_smtps_to_a_plain_text_port(tmp_path: Path, smtp_server) -> None:
    server = smtp_server()
    code, lines = send_now(tmp_path, f"--port={server.port}", "--tls=on", "--tls-starttls=off")
    handshake = "PROG: TLS handshake failed: An unexpected TLS packet was received."
    assert (code, lines) == (76, [handshake, "PROG: could not send mail"])
    account = Account(port=server.port, tls=True, tls_starttls=False)
    (hint,) = failure_hints(account, lines[0][6:])
    assert "'tls_starttls on'" in hint and f"port {server.port}" in hint


def test_starttls_to_port_465(tmp_path: Path, smtp_server) -> None:
    server = smtp_server(mode="smtps")  # an SMTPS server: it waits for the TLS handshake
    code, lines = send_now(tmp_path, f"--port={server.port}", "--tls=on", "--tls-starttls=on",
                           f"--tls-trust-file={server.ca_file}")
    assert (code, lines) == (74, ["PROG: network read error: the operation timed out",
                                  "PROG: could not send mail"])
    errormsg = lines[0][6:]
    for account in (Account(port=465, tls=True, tls_starttls=True), Account(port=465)):
        (hint,) = failure_hints(account, errormsg)
        assert "'tls_starttls off'" in hint
    assert failure_hints(Account(port=server.port, tls=True), errormsg) == ()  # just slow
    assert failure_hints(Account(port=465, tls=True, tls_starttls=False), errormsg) == ()


def test_send_now_prints_the_delivery_hint(tmp_path: Path, smtp_server) -> None:
    server = smtp_server()
    _, lines = send_now(tmp_path, f"--port={server.port}", "--tls=on", "--tls-starttls=off",
                        hints="1")
    assert lines[-1].startswith("PROG: hint: ")
