"""The main job, end to end: queue mail while the server is unreachable, then deliver it.

Run by ``scripts/demo`` after ``scripts/setup``.  Everything happens in a
temporary HOME with its own ~/.msmtprc and queue; nothing on the machine is
touched.  The "smarthost" is an aiosmtpd server on 127.0.0.1 that this script
starts half-way through, on the port the account names.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time

BIN = os.path.dirname(sys.executable)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(env: dict[str, str], *argv: str, stdin: bytes | None = None) -> None:
    shown = " ".join(argv)
    if stdin is not None:
        first = stdin.decode().splitlines()
        shown = f"printf '{first[0]}\\n…' | {shown}"
    print(f"\n$ {shown}", flush=True)
    command = [os.path.join(BIN, argv[0]), *argv[1:]]
    subprocess.run(command, input=stdin, env=env, check=False)


def make_home(root: str, port: int) -> dict[str, str]:
    rc = os.path.join(root, ".msmtprc")
    with open(rc, "w") as f:
        f.write(f"defaults\nlogfile ~/msmtp.log\n\naccount laptop\nhost 127.0.0.1\n"
                f"port {port}\nfrom me@example.org\n\naccount default : laptop\n")
    os.chmod(rc, 0o600)
    os.makedirs(os.path.join(root, ".config", "smtpq"))
    with open(os.path.join(root, ".config", "smtpq", "config.toml"), "w") as f:
        f.write('[queue]\nafter_enqueue = "none"   # the demo flushes by hand\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMTPQ_", "XDG_"))}
    return env | {"HOME": root, "COLUMNS": "100"}


def mail(n: int) -> bytes:
    return (f"To: friend{n}@example.net\nBcc: boss@example.net\nSubject: note {n}\n\n"
            f"Written offline, message {n}.\n").encode()


def main() -> None:
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="smtpq-demo-") as home:
        env = make_home(home, port)
        print(f"# A laptop, offline: the smarthost 127.0.0.1:{port} is not reachable.")
        for n in (1, 2, 3):
            run(env, "smtpq-sendmail", "-t", stdin=mail(n))
        run(env, "smtpq", "list")
        run(env, "smtpq", "flush")
        print("\n# Back online: a local SMTP server starts on that port.")
        from aiosmtpd.controller import Controller
        from aiosmtpd.handlers import Sink

        class Show(Sink):
            async def handle_DATA(self, server, session, envelope):  # noqa: ANN001
                print(f"  [server] mail from {envelope.mail_from} to {envelope.rcpt_tos}")
                return "250 OK queued"

        controller = Controller(Show(), hostname="127.0.0.1", port=port)
        controller.start()
        try:
            run(env, "smtpq", "flush", "--verbose")
            time.sleep(0.2)
        finally:
            controller.stop()
        run(env, "smtpq", "list", "--all")
        run(env, "smtpq", "show", "1")
        print("\n$ cat ~/msmtp.log")
        with open(os.path.join(home, "msmtp.log")) as f:
            sys.stdout.write(f.read())


if __name__ == "__main__":
    main()
