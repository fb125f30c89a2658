"""``--configure=ADDR`` prints what msmtp 1.8.23 (key-ring build) prints, from the same DNS.

Both programs run inside private namespaces (``unshare -rmn``) where
``/etc/resolv.conf`` names a fake DNS server on 127.0.0.1:53
(``dns_namespace.py``), so each uses its own resolver against the same
records.  Where unprivileged namespaces are not available this module skips
(that is the machine, not a missing msmtp).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from tests.support.programs import msmtp_binary, needs, smtpq_sendmail

pytestmark = pytest.mark.msmtp

HELPER = os.path.join(os.path.dirname(__file__), "dns_namespace.py")
RECORDS = {
    "_submissions._tcp.example.com": [(0, 1, 465, "mail.example.com")],
    "_submission._tcp.example.com": [(0, 1, 587, "smtp.example.com")],
    "_submission._tcp.other.example": [(0, 1, 587, "smtp.provider.example")],
    "_submissions._tcp.prio.example": [(20, 0, 465, "second.prio.example"),
                                       (10, 0, 2465, "first.prio.example")],
    "_submission._tcp.sub.example": [(0, 0, 587, "sub.example")],
    "_submission._tcp.near.example": [(0, 0, 587, "xnear.example")],
}
ADDRESSES = ["joe@example.com", "bob@other.example", "x@prio.example", "a+b@sub.example",
             "n@near.example", "joe@none.example", "joe", "@example.com", "joe@",
             "odd@name@example.com"]


def _namespaces_work() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-rmn", "true"], capture_output=True, check=False)
    return probe.returncode == 0


def _run(program: list[str], home: str) -> tuple[int, str, list[str]]:
    env = {"HOME": home, "PATH": os.environ["PATH"], "LANG": "C", "LC_ALL": "C"}
    proc = subprocess.run(["unshare", "-rmn", sys.executable, HELPER, json.dumps(RECORDS),
                           *program], capture_output=True, env=env, timeout=60, check=False)
    name = os.path.basename(program[0])
    stderr = [line.replace(f"{name}: ", "PROG: ", 1)
              for line in proc.stderr.decode().splitlines()]
    return proc.returncode, proc.stdout.decode(), stderr


@pytest.mark.parametrize("extra", [(), ("-C", "some/rc")], ids=["default-file", "dash-C"])
@pytest.mark.parametrize("address", ADDRESSES)
def test_configure_is_msmtp(address: str, extra: tuple[str, ...], tmp_path) -> None:
    msmtp = msmtp_binary()
    needs(_namespaces_work(), "needs user, mount and network namespaces (unshare)")
    args = [*extra, f"--configure={address}"]
    theirs = _run([msmtp, *args], str(tmp_path))
    ours = _run([smtpq_sendmail(), *args], str(tmp_path))
    assert ours == theirs
