"""cron's mail of a job's output goes through smtpq, to an alias or to a full address.

Debian's cron runs ``/usr/sbin/sendmail -FCronDaemon -i -B8BITMIME -oem
MAILTO`` through ``sh`` (``popen``) and writes its own header block; the
test does the same through the ``sendmail`` link ``smtpq link`` made, with the
very argument string read from the installed ``/usr/sbin/cron``.  MAILTO
``root`` reaches the address msmtp's ``aliases`` file gives it (the To header
stays ``root``, as with msmtp); a full address is used as it is.  The exit
status is 0, so cron logs no "got status … from MTA".
"""

from __future__ import annotations

import os
import shlex
import subprocess

from tests.dropin.conftest import Linked, MailHome, missing, parsed
from tests.support.queue_home import header_value

CRON = "/usr/sbin/cron"
#: Debian cron 3.0pl1's MAILARGS (do_command.c), where %s is the MTA and MAILTO.
MAILARGS = "%s -FCronDaemon -i -B8BITMIME -oem  %s"
OUTPUT = "backup finished: 3 files\nGrüße vom Cron ✓\n.\nend\n"


def cron_mail(mailto: str) -> bytes:
    """The mail cron writes to its MTA for a job's output (headers as in do_command.c)."""
    head = [
        "From: root (Cron Daemon)", f"To: {mailto}",
        "Subject: Cron <root@laptop> /usr/local/bin/backup", "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=UTF-8", "Content-Transfer-Encoding: 8bit",
        "X-Cron-Env: <SHELL=/bin/sh>", "X-Cron-Env: <HOME=/root>",
        "X-Cron-Env: <PATH=/usr/bin:/bin>", "X-Cron-Env: <LOGNAME=root>",
    ]
    return ("\n".join(head) + "\n\n" + OUTPUT).encode()


def run_like_cron(home: MailHome, sendmail: str, mailto: str) -> None:
    command = MAILARGS % (shlex.quote(sendmail), mailto)
    result = subprocess.run(["/bin/sh", "-c", command], input=cron_mail(mailto),
                            capture_output=True, env=home.env, cwd=home.root, timeout=30,
                            check=False)
    assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")


def test_the_mta_arguments_are_those_of_the_installed_cron() -> None:
    if not os.path.exists(CRON):
        missing("cron (Debian package cron)")
    with open(CRON, "rb") as binary:
        assert MAILARGS.encode() in binary.read()


def test_cron_mail_to_root_goes_to_its_alias(mailhome: MailHome, linked: Linked) -> None:
    aliases = mailhome.root / "aliases"
    aliases.write_text("# as /etc/aliases\nroot: admin@example.net\n")
    mailhome.account(mailhome.server.port, f"aliases {aliases}")

    run_like_cron(mailhome, str(linked.sendmail), "root")

    (received,) = mailhome.arrived(1)
    assert received.rcpt_tos == ["admin@example.net"]
    assert received.mail_from == "me@example.org"
    assert header_value(received.data, "To") == "root"
    assert header_value(received.data, "From") == "root (Cron Daemon)"
    mail = parsed(received)
    assert mail.get_all("X-Cron-Env") == ["<SHELL=/bin/sh>", "<HOME=/root>",
                                          "<PATH=/usr/bin:/bin>", "<LOGNAME=root>"]
    assert mail.get_content() == OUTPUT


def test_cron_mail_to_a_full_address(mailhome: MailHome, linked: Linked) -> None:
    run_like_cron(mailhome, str(linked.sendmail), "ops@example.net")

    (received,) = mailhome.arrived(1)
    assert received.rcpt_tos == ["ops@example.net"]
    assert parsed(received).get_content() == OUTPUT
