"""Where the password comes from: password, passwordeval, key ring, netrc, tty — in that order.

msmtp 1.8.23 was observed (strace) to ask D-Bus, then open ``~/.netrc``, then
``/etc/netrc``, then ``/dev/tty``; a literal ``password`` wins over
``passwordeval`` whatever their order, and ``passwordeval`` is then not run.
"""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time

import keyring
import keyring.core
import pytest
from keyring.backend import KeyringBackend

from smtpq.sender.auth import keyring_source
from smtpq.sender.auth.authenticate import authenticate
from smtpq.sender.auth.passwords import obtain_password, resolve_passwordeval, run_passwordeval
from smtpq.sender.config.settings import Account
from smtpq.sender.errors import ConfigError, DeliveryError
from smtpq.sender.protocol.session import Session
from smtpq.sender.sysexits import ExitCode

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(__file__))))


class DictKeyring(KeyringBackend):
    """A key ring in memory that records what it was asked."""

    priority = 1  # type: ignore[assignment]

    def __init__(self, items: dict[tuple[str, str], str] | None = None) -> None:
        super().__init__()
        self.items = items or {}
        self.asked: list[tuple[str, str]] = []

    def get_password(self, service: str, username: str) -> str | None:
        self.asked.append((service, username))
        return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.items.pop((service, username), None)


class BrokenKeyring(DictKeyring):
    def get_password(self, service: str, username: str) -> str | None:
        raise keyring.errors.KeyringLocked("locked")


class StuckKeyring(DictKeyring):
    def get_password(self, service: str, username: str) -> str | None:
        time.sleep(30)
        return "too late"


@pytest.fixture
def home(tmp_path, no_password_sources):
    yield tmp_path / "home"
    keyring.core._keyring_backend = None  # noqa: SLF001


@pytest.fixture
def system_netrc(tmp_path, monkeypatch):
    from smtpq.sender.auth import passwords

    path = tmp_path / "etc-netrc"
    monkeypatch.setattr(passwords, "SYSTEM_NETRC", str(path))
    return path


def account(**settings) -> Account:
    settings.setdefault("auth", "PLAIN")
    return Account(host="mail.example", user="bob", **settings)


# -- password and passwordeval --------------------------------------------------

def test_the_password_setting_wins_and_passwordeval_is_not_run(home, tmp_path):
    marker = tmp_path / "ran"
    acc = account(password="literal", passwordeval=f"touch {marker}; echo evaluated")
    resolve_passwordeval(acc)
    assert obtain_password(acc, "PLAIN") == "literal"
    assert not marker.exists()


def test_passwordeval_gives_the_first_line_without_its_line_end():
    assert run_passwordeval("printf 'first\\r\\nsecond\\n'") == "first"
    assert run_passwordeval("printf 'a b\\n'") == "a b"
    assert run_passwordeval("printf 'no newline'") == "no newline"
    assert run_passwordeval("printf 'a\\rb\\r\\r\\n'") == "a\rb\r"  # one CR only, as msmtp
    assert run_passwordeval("echo") == ""  # an empty line is an empty password


def test_passwordeval_ignores_the_exit_status_and_stderr():
    assert run_passwordeval("echo pw; echo noise >&2; exit 3") == "pw"


@pytest.mark.parametrize("command", ["true", "echo pw >&2", "no-such-command-xyz 2>/dev/null"])
def test_passwordeval_without_output_is_a_configuration_error(command):
    with pytest.raises(ConfigError) as caught:
        run_passwordeval(command)
    assert caught.value.message == f"cannot read output of '{command}'"
    assert caught.value.exit_code == ExitCode.EX_CONFIG


def test_passwordeval_does_not_wait_for_endless_output():
    started = time.monotonic()
    assert run_passwordeval("yes pw") == "pw"
    assert time.monotonic() - started < 5


def test_passwordeval_never_reads_the_mail_from_stdin():
    code = ("from smtpq.sender.auth.passwords import run_passwordeval\n"
            "try:\n    print(run_passwordeval('head -c 4'))\n"
            "except Exception as e:\n    print('error:', e)\n")
    done = subprocess.run([sys.executable, "-c", code], input=b"mail text", capture_output=True,
                          timeout=30, cwd=ROOT)
    assert done.stdout.decode().strip() == "error: cannot read output of 'head -c 4'"


def test_resolve_passwordeval_runs_only_when_auth_is_on_and_no_password_is_set():
    acc = account(passwordeval="echo evaluated")
    resolve_passwordeval(acc)
    assert acc.password == "evaluated"
    off = Account(host="h", user="bob", passwordeval="echo evaluated")
    resolve_passwordeval(off)
    assert off.password is None
    failing = account(passwordeval="true")
    with pytest.raises(ConfigError):
        resolve_passwordeval(failing)


# -- key ring --------------------------------------------------------------------

def test_the_key_ring_is_asked_for_smtp_host_and_user(home):
    ring = DictKeyring({("smtp://mail.example", "bob"): "from-keyring"})
    keyring.set_keyring(ring)
    assert obtain_password(account(), "PLAIN") == "from-keyring"
    assert ring.asked == [("smtp://mail.example", "bob")]


def test_the_key_ring_comes_before_netrc(home):
    (home / ".netrc").write_text("machine mail.example login bob password from-netrc\n")
    keyring.set_keyring(DictKeyring({("smtp://mail.example", "bob"): "from-keyring"}))
    assert obtain_password(account(), "PLAIN") == "from-keyring"


def test_a_failing_key_ring_falls_through_silently(home, capfd):
    (home / ".netrc").write_text("machine mail.example login bob password from-netrc\n")
    keyring.set_keyring(BrokenKeyring())
    assert obtain_password(account(), "PLAIN") == "from-netrc"
    assert capfd.readouterr() == ("", "")


def test_a_key_ring_that_hangs_is_given_up(home, monkeypatch):
    (home / ".netrc").write_text("machine mail.example login bob password from-netrc\n")
    keyring.set_keyring(StuckKeyring())
    monkeypatch.setattr(keyring_source, "TIMEOUT", 0.3)
    started = time.monotonic()
    assert keyring_source.keyring_password("mail.example", "bob", timeout=0.3) is None
    assert time.monotonic() - started < 5


def test_without_any_key_ring_backend_nothing_is_printed(home, capfd):
    """The null backend (no Secret Service, no D-Bus) is simply "no password"."""
    assert obtain_password(account(), "PLAIN") is None
    assert capfd.readouterr() == ("", "")


# -- netrc -----------------------------------------------------------------------

def test_netrc_needs_host_and_user_to_match(home):
    (home / ".netrc").write_text(
        "machine mail.example login alice password alices\n"
        "default login bob password from-default\n"
        "machine other.example login bob password others\n")
    assert obtain_password(account(), "PLAIN") is None
    (home / ".netrc").write_text("machine mail.example login bob password bobs\n")
    assert obtain_password(account(), "PLAIN") == "bobs"


def test_the_user_netrc_comes_before_the_system_netrc(home, system_netrc):
    system_netrc.write_text("machine mail.example login bob password from-system\n")
    assert obtain_password(account(), "PLAIN") == "from-system"
    (home / ".netrc").write_text("machine mail.example login bob password from-home\n")
    assert obtain_password(account(), "PLAIN") == "from-home"


def test_the_lookup_uses_the_given_host_name(home):
    (home / ".netrc").write_text("machine 127.0.0.1 login bob password local\n")
    assert obtain_password(account(), "PLAIN", "127.0.0.1") == "local"


# -- methods without a password ----------------------------------------------------

@pytest.mark.parametrize("method", ["EXTERNAL", "GSSAPI"])
def test_external_and_gssapi_never_look_for_a_password(home, method):
    ring = DictKeyring({("smtp://mail.example", "bob"): "x"})
    keyring.set_keyring(ring)
    assert obtain_password(account(passwordeval="echo x"), method) is None
    assert ring.asked == []


# -- the prompt ---------------------------------------------------------------------

_PROMPT_CHILD = """
import sys
from smtpq.sender.auth.passwords import obtain_password
from smtpq.sender.config.settings import Account
print(repr(obtain_password(Account(host="mail.example", user="bob", auth="PLAIN"), "PLAIN")))
"""


def _child_env(home) -> dict[str, str]:
    env = dict(os.environ, HOME=str(home), PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring")
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    return env


def test_the_prompt_is_on_the_terminal_with_echo_off(home):
    master, slave = pty.openpty()  # the slave stays open here: no EIO while the child starts
    slave_name = os.ttyname(slave)

    def become_terminal_owner() -> None:  # runs after setsid(): this tty becomes /dev/tty
        os.close(os.open(slave_name, os.O_RDWR))

    child = subprocess.Popen([sys.executable, "-c", _PROMPT_CHILD], stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, env=_child_env(home), cwd=ROOT,
                             start_new_session=True, preexec_fn=become_terminal_owner)
    try:
        seen = _read_until(master, b": ")
        assert seen.endswith(b"password for bob at mail.example: ")
        os.write(master, b"typed secret\n")
        out, _ = child.communicate(timeout=30)
        echoed = _read_available(master)
    finally:
        child.kill()
        os.close(master)
        os.close(slave)
    assert out.decode().strip() == "'typed secret'"
    assert b"typed secret" not in echoed
    assert echoed.startswith(b"\r\n")  # getpass ends the line itself


def test_without_a_terminal_there_is_no_prompt(home):
    """A new session has no controlling terminal, so /dev/tty cannot be opened (cron, daemons)."""
    done = subprocess.run([sys.executable, "-c", _PROMPT_CHILD], stdin=subprocess.DEVNULL,
                          capture_output=True, env=_child_env(home), cwd=ROOT,
                          start_new_session=True, timeout=30)
    assert done.stdout.decode().strip() == "None"
    assert done.stderr == b""


def test_no_password_anywhere_is_msmtps_needs_a_password(sasl_server, authenticate_to):
    server = sasl_server()
    with pytest.raises(DeliveryError) as caught:
        authenticate_to(server, auth="PLAIN", user="bob")
    assert caught.value.message == "authentication method PLAIN needs a password"
    assert caught.value.exit_code == ExitCode.EX_UNAVAILABLE
    assert server.handler.attempts == []


def test_the_password_is_looked_up_under_the_accounts_host(sasl_server, no_password_sources):
    server = sasl_server()
    with open(os.path.join(os.environ["HOME"], ".netrc"), "w") as netrc:
        netrc.write("machine 127.0.0.1 login bob password 's3cret pass'\n")
    acc = server.account(auth="PLAIN", user="bob")
    with Session.open(acc) as session:
        assert authenticate(session, acc) == "PLAIN"


def _read_until(fd: int, marker: bytes, timeout: float = 20) -> bytes:
    data = b""
    deadline = time.monotonic() + timeout
    while marker not in data and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            data += os.read(fd, 1024)
    return data


def _read_available(fd: int) -> bytes:
    data = b""
    while select.select([fd], [], [], 0.2)[0]:
        try:
            chunk = os.read(fd, 1024)
        except OSError:
            break
        if not chunk:
            break
        data += chunk
    return data
