"""The NetworkManager dispatcher script flushes on "up", and as the right user.

NetworkManager runs ``/etc/NetworkManager/dispatcher.d/90-smtpq-flush
<interface> <action>`` as root, with ``CONNECTIVITY_STATE`` for
``connectivity-change``.  ``smtpq`` is replaced on ``$PATH`` by a stub that
records who ran it, with what HOME and arguments:

* ``up``, ``vpn-up`` and ``connectivity-change`` to FULL flush once per user;
* ``down``, ``pre-up``, ``dhcp4-change``, ``hostname``, connectivity LIMITED or
  NONE, and loopback coming up do nothing; the script always exits 0;
* the users come from ``SMTPQ_FLUSH_USERS`` in the defaults file, else from
  ``loginctl``; another user's flush runs as that user (``runuser``).
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.programs import needs

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "smtpq" / "data" / "networkmanager" / "90-smtpq-flush"
ME = pwd.getpwuid(os.geteuid()).pw_name


@pytest.fixture
def world() -> Iterator[Path]:
    """A directory every user can read (stubs) and write (the record): /tmp/pytest-of-root
    is private, and one test runs the stub as nobody."""
    top = Path(tempfile.mkdtemp(prefix="smtpq-nm-"))
    top.chmod(0o777)
    (top / "bin").mkdir(mode=0o755)
    stub = top / "bin" / "smtpq"
    stub.write_text(f'#!/bin/sh\necho "$(id -un) $HOME $*" >> {top}/calls\n')
    stub.chmod(0o755)
    (top / "calls").touch()
    (top / "calls").chmod(0o666)
    yield top
    shutil.rmtree(top)


def dispatch(world: Path, *args: str, users: str | None = ME, logged_in: str = "",
             **env: str) -> list[str]:
    """Run the script as NetworkManager would; the calls the stub recorded."""
    defaults = world / "defaults"
    defaults.write_text("" if users is None else f'SMTPQ_FLUSH_USERS="{users}"\n')
    loginctl = world / "bin" / "loginctl"
    loginctl.write_text(f"#!/bin/sh\nprintf '{logged_in}'\n")
    loginctl.chmod(0o755)
    environment = {"PATH": f"{world}/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                   "SMTPQ_DEFAULTS": str(defaults), "HOME": "/root", **env}
    result = subprocess.run([str(SCRIPT), *args], capture_output=True, text=True,
                            env=environment, timeout=30, check=False)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    return (world / "calls").read_text().splitlines()


@pytest.mark.parametrize(("args", "env"), [
    (("eth0", "up"), {}),
    (("tun0", "vpn-up"), {}),
    (("", "connectivity-change"), {"CONNECTIVITY_STATE": "FULL"}),
], ids=["up", "vpn-up", "connectivity-full"])
def test_the_network_coming_up_flushes(world: Path, args: tuple[str, ...],
                                       env: dict[str, str]) -> None:
    assert dispatch(world, *args, **env) == [f"{ME} /root flush --quiet"]


@pytest.mark.parametrize(("args", "env"), [
    (("eth0", "down"), {}),
    (("eth0", "pre-up"), {}),
    (("eth0", "pre-down"), {}),
    (("eth0", "dhcp4-change"), {}),
    (("none", "hostname"), {}),
    (("", "connectivity-change"), {"CONNECTIVITY_STATE": "LIMITED"}),
    (("", "connectivity-change"), {"CONNECTIVITY_STATE": "NONE"}),
    (("", "connectivity-change"), {}),
    (("lo", "up"), {}),
    ((), {}),
], ids=["down", "pre-up", "pre-down", "dhcp4-change", "hostname", "limited", "none",
        "no-state", "loopback", "no-arguments"])
def test_other_events_do_nothing(world: Path, args: tuple[str, ...],
                                 env: dict[str, str]) -> None:
    assert dispatch(world, *args, **env) == []


def test_each_user_flushes_as_themselves(world: Path) -> None:
    needs(os.geteuid() == 0 and shutil.which("runuser") is not None,
          "needs root (like NetworkManager) and runuser")
    nobody = pwd.getpwnam("nobody")
    calls = dispatch(world, "eth0", "up", users=f"root {nobody.pw_name}")
    assert calls == ["root /root flush --quiet", f"nobody {nobody.pw_dir} flush --quiet"]


def test_without_a_list_the_logged_in_users_flush(world: Path) -> None:
    needs(os.geteuid() == 0 and shutil.which("runuser") is not None,
          "needs root (like NetworkManager) and runuser")
    nobody = pwd.getpwnam("nobody")
    calls = dispatch(world, "wlan0", "up", users=None,
                     logged_in="     0 root\\n 65534 nobody\\n")
    assert sorted(calls) == [f"nobody {nobody.pw_dir} flush --quiet", "root /root flush --quiet"]
