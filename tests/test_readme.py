"""Every command the README shows works exactly as written, after the steps before it.

The README's ``sh`` blocks after the first (which sets up and tests the clone,
what CI itself runs) are run line by line, in order, by ``bash`` in a fresh
HOME with nothing on PATH but the system's directories and ``~/.local/bin``:
``pipx install .`` really installs smtpq from this clone (its dependencies
from the package index, as for a newcomer), ``smtpq install-units`` and
``smtpq link --prefix ~/.local`` put things in place, and the offline-laptop
commands run against a local SMTP server that ``~/.msmtprc`` names.  Each
line must exit 0, and the mail must arrive.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.aiosmtpd_server import SmtpServer
from tests.support.programs import needs
from tests.support.queue_home import wait_until

ROOT = Path(__file__).resolve().parent
README = ROOT.parent / "README.md"


def sh_blocks(text: str) -> list[list[str]]:
    """The command lines of every ```sh block (comment-only lines dropped)."""
    blocks = re.findall(r"^```sh\n(.*?)^```", text, flags=re.S | re.M)
    return [[line for line in block.splitlines() if line.strip() and not line.lstrip()
             .startswith("#")] for block in blocks]


def test_the_first_block_is_what_ci_runs() -> None:
    first = sh_blocks(README.read_text())[0]
    assert [line.split()[0] for line in first] == ["./scripts/demo", "./scripts/test"]
    assert "./scripts/test" in (ROOT.parent / ".ci" / "run").read_text()


@pytest.fixture
def server(smtp_server) -> SmtpServer:  # type: ignore[no-untyped-def]
    return smtp_server()


def test_every_readme_command_works_as_written(tmp_path: Path, server: SmtpServer) -> None:
    needs(shutil.which("pipx") is not None, "needs pipx (Debian package pipx)")
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    rc = home / ".msmtprc"
    rc.write_text(f"account default\nhost 127.0.0.1\nport {server.port}\n"
                  "from me@example.org\n")
    rc.chmod(0o600)
    env = {"HOME": str(home), "PATH": f"{home}/.local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
           "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
    for name in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_CONFIG_FILE",
                 "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"):
        if name in os.environ:
            env[name] = os.environ[name]  # the machine's own way to the package index
    ran = []
    for block in sh_blocks(README.read_text())[1:]:
        for line in block:
            done = subprocess.run(["bash", "-c", line], cwd=README.parent, env=env,
                                  capture_output=True, text=True, timeout=600, check=False)
            assert done.returncode == 0, f"{line!r} exited {done.returncode}:\n{done.stderr}"
            ran.append(line.split()[0])
    assert "pipx" in ran and "smtpq-sendmail" not in ran  # the mail is piped into it
    wait_until(lambda: server.messages, timeout=30)
    assert [m.rcpt_tos for m in server.messages] == [["you@example.net"]]
    assert (home / ".local" / "sbin" / "sendmail").is_symlink()
    assert (home / ".config" / "systemd" / "user" / "smtpq-flush.service").is_file()
