"""Run one command with a private DNS: ``unshare -rmn python dns_namespace.py RECORDS CMD…``.

Inside new user, mount and network namespaces this brings the loopback
interface up, serves RECORDS (JSON: name → [[priority, weight, port,
target], …]) with :class:`tests.sender.modes.fake_dns.FakeDns` on
127.0.0.1:53 and bind-mounts a resolv.conf naming it over
``/etc/resolv.conf`` — so the real msmtp (libresolv) and smtpq (dnspython
reading resolv.conf) ask the same server.  The command's stdio is
passed through and its exit code returned.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__)))))
sys.path.insert(0, _ROOT)

from tests.sender.modes.fake_dns import FakeDns  # noqa: E402

SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1


def loopback_up() -> None:
    """``ip link set lo up`` without needing iproute2."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sh", b"lo", 0)
        flags = struct.unpack("16sh", fcntl.ioctl(sock, SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sh", b"lo", flags | IFF_UP))


def main(argv: list[str]) -> int:
    records = {name: [tuple(r) for r in rs] for name, rs in json.loads(argv[0]).items()}
    loopback_up()
    server = FakeDns(records, port=53)
    with tempfile.NamedTemporaryFile("w", suffix=".resolv.conf", delete=False) as conf:
        conf.write("nameserver 127.0.0.1\n")
    subprocess.run(["mount", "--bind", conf.name, "/etc/resolv.conf"], check=True)
    try:
        return subprocess.run(argv[1:], check=False).returncode
    finally:
        server.stop()
        os.unlink(conf.name)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
