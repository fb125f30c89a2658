"""GSSAPI without the ``kerberos`` extra: not supported, said plainly, as msmtp does.

``pip install smtpq`` without ``[kerberos]`` has no ``gssapi`` module.  Then
``auth gssapi`` fails before any AUTH with msmtp 1.8.23's text for a method
its build lacks (``support for authentication method GSSAPI is not compiled
in``, EX_UNAVAILABLE; checked before what the server offers) followed by how
to get it (the extra and the Debian package ``libkrb5-dev`` needed to build it), and ``--version``
leaves ``gssapi`` out of the supported
methods.  Each test runs the real entry point in a process where ``import
gssapi`` fails (``sys.modules['gssapi'] = None``), as it does without the extra.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from smtpq.sender.sysexits import ExitCode

#: Run smtpq-sendmail's entry with ``gssapi`` unimportable (when *block*).
LAUNCHER = """
import sys
if sys.argv.pop(1) == "block":
    sys.modules["gssapi"] = None  # import gssapi raises ImportError, as without the extra
from smtpq.cli.entry import sendmail_main
sys.argv[0] = "smtpq-sendmail"
sendmail_main()
"""


def sendmail(*args: str, block: bool, stdin: bytes = b"", home: Path) -> subprocess.CompletedProcess[str]:
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "KRB5CCNAME": f"FILE:{home}/no-ccache",
           "SMTPQ_DATABASE": f"sqlite:///{home}/queue.sqlite3",
           "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"}
    return subprocess.run([sys.executable, "-c", LAUNCHER, "block" if block else "allow", *args],
                          input=stdin.decode(), capture_output=True, text=True, env=env,
                          timeout=60, check=False)


def gssapi_server(scripted_server, offered: str = "GSSAPI"):
    def script(peer):
        peer.send("220 kerberized ESMTP")
        peer.expect("EHLO")
        peer.send("250-kerberized", f"250 AUTH {offered}")
        while peer.line():
            peer.send("535 5.7.8 unexpected")
    return scripted_server(script)


@pytest.mark.parametrize("offered", ["GSSAPI", "PLAIN"])
def test_without_the_extra_auth_gssapi_is_not_supported_and_says_what_to_install(
        scripted_server, tmp_path, offered):
    server = gssapi_server(scripted_server, offered)
    rc = tmp_path / "msmtprc"
    rc.write_text(f"account default\nhost 127.0.0.1\nport {server.port}\nauth gssapi\n"
                  "user bob\nfrom bob@example.org\n")
    rc.chmod(0o600)
    done = sendmail("--send-now", "-C", str(rc), "alice@example.org", block=True,
                    stdin=b"Subject: hi\n\nhello\n", home=tmp_path)
    assert done.returncode == ExitCode.EX_UNAVAILABLE, done.stderr
    assert "support for authentication method GSSAPI is not compiled in" in done.stderr
    assert "pip install 'smtpq[kerberos]'" in done.stderr
    assert "libkrb5-dev" in done.stderr
    assert "insufficient credentials" not in done.stderr
    assert not any(line.upper().startswith("AUTH") for line in server.peer.lines)


def supported_methods(version_output: str) -> list[str]:
    lines = version_output.splitlines()
    return lines[lines.index("Supported authentication methods:") + 1].split()


def test_version_lists_gssapi_only_when_it_can_be_imported(tmp_path):
    without = sendmail("--version", block=True, home=tmp_path)
    with_extra = sendmail("--version", block=False, home=tmp_path)
    assert without.returncode == with_extra.returncode == 0
    assert "gssapi" not in supported_methods(without.stdout)
    assert "plain" in supported_methods(without.stdout)
    assert "gssapi" in supported_methods(with_extra.stdout)
