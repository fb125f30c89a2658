"""``smtpq link`` / ``smtpq unlink``: smtpq becomes sendmail and mailq, and only by consent.

In a temporary prefix laid out like /usr:

* an empty prefix gets ``sbin/sendmail`` and ``lib/sendmail`` (-> smtpq-sendmail)
  and ``bin/mailq`` (-> smtpq); running it again changes nothing;
* another MTA's ``sbin/sendmail`` (a binary, or a link to one) is refused with
  exit 73 and nothing changed; ``--force`` moves it to ``sendmail.smtpq-orig``
  and ``unlink`` puts it back; Debian's ``lib/sendmail -> ../sbin/sendmail``
  is kept, since it then leads to smtpq;
* a link to an older smtpq installation's script is just replaced;
* ``--dry-run`` says the same and touches nothing;
* ``unlink`` removes only links to smtpq's scripts;
* the links work: ``mailq`` lists the queue, ``sendmail -bp`` too, and
  ``sendmail`` (argv[0]) queues a mail that ``sendmail -q`` delivers;
* a user who may not write the prefix is told to use ``--prefix ~/.local``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.support.other_user import nobody
from tests.support.programs import needs
from tests.support.queue_home import SENDMAIL, SMTPQ, QueueHome

OTHER_MTA = b"#!/bin/sh\necho 'I am postfix'\n"


def smtpq(home: QueueHome, *args: str) -> tuple[int, str, str]:
    result = home.smtpq(*args)
    return result.returncode, result.stdout.decode(), result.stderr.decode()


def tree(prefix: Path) -> dict[str, str]:
    """Every file under *prefix*: link target, or ``file:CONTENT``."""
    found = {}
    for path in sorted(prefix.rglob("*")):
        if path.is_symlink():
            found[str(path.relative_to(prefix))] = os.readlink(path)
        elif path.is_file():
            found[str(path.relative_to(prefix))] = "file:" + path.read_text()
    return found


def debian_with_postfix(prefix: Path) -> None:
    """/usr as Debian's postfix leaves it: sbin/sendmail a binary, lib/sendmail a link to it."""
    (prefix / "sbin").mkdir(parents=True)
    (prefix / "lib").mkdir()
    (prefix / "sbin" / "sendmail").write_bytes(OTHER_MTA)
    (prefix / "sbin" / "sendmail").chmod(0o755)
    (prefix / "lib" / "sendmail").symlink_to("../sbin/sendmail")


def test_link_into_an_empty_prefix_and_again(queue_home: QueueHome) -> None:
    prefix = queue_home.root / "usr"
    code, out, err = smtpq(queue_home, "link", "--prefix", str(prefix))
    assert (code, err) == (0, "")
    assert tree(prefix) == {"bin/mailq": SMTPQ, "lib/sendmail": SENDMAIL,
                            "sbin/sendmail": SENDMAIL}
    assert f"link {prefix}/sbin/sendmail -> {SENDMAIL}" in out.splitlines()

    code, out, err = smtpq(queue_home, "link", "--prefix", str(prefix))
    assert (code, err) == (0, "")
    assert out.splitlines() == [f"{prefix}/sbin/sendmail: already links to {SENDMAIL}",
                                f"{prefix}/lib/sendmail: already links to {SENDMAIL}",
                                f"{prefix}/bin/mailq: already links to {SMTPQ}"]


@pytest.mark.parametrize("as_link", [False, True], ids=["binary", "link-to-binary"])
def test_another_mta_is_not_replaced_without_force(queue_home: QueueHome, as_link: bool) -> None:
    prefix = queue_home.root / "usr"
    debian_with_postfix(prefix)
    if as_link:  # e.g. msmtp-mta's /usr/sbin/sendmail -> ../bin/msmtp
        (prefix / "bin").mkdir()
        (prefix / "sbin" / "sendmail").rename(prefix / "bin" / "msmtp")
        (prefix / "sbin" / "sendmail").symlink_to("../bin/msmtp")
    before = tree(prefix)

    for extra in ((), ("--dry-run",)):
        code, out, err = smtpq(queue_home, "link", "--prefix", str(prefix), *extra)
        assert code == 73  # EX_CANTCREAT
        assert out == ""
        assert err.splitlines()[0] == (
            f"smtpq: {prefix}/sbin/sendmail: not smtpq's (another mail program?); nothing changed")
        assert "--force" in err
        assert tree(prefix) == before


def test_force_keeps_the_other_mta_and_unlink_restores_it(queue_home: QueueHome) -> None:
    prefix = queue_home.root / "usr"
    debian_with_postfix(prefix)
    before = tree(prefix)

    code, out, _ = smtpq(queue_home, "link", "--prefix", str(prefix), "--force", "--dry-run")
    assert code == 0
    assert f"would move {prefix}/sbin/sendmail to {prefix}/sbin/sendmail.smtpq-orig" in out
    assert tree(prefix) == before

    code, out, err = smtpq(queue_home, "link", "--prefix", str(prefix), "--force")
    assert (code, err) == (0, "")
    assert tree(prefix) == {"bin/mailq": SMTPQ, "lib/sendmail": "../sbin/sendmail",
                            "sbin/sendmail": SENDMAIL,
                            "sbin/sendmail.smtpq-orig": "file:" + OTHER_MTA.decode()}
    assert f"{prefix}/lib/sendmail: kept, it leads to {prefix}/sbin/sendmail" in out

    code, out, err = smtpq(queue_home, "unlink", "--prefix", str(prefix))
    assert (code, err) == (0, "")
    assert tree(prefix) == before
    assert f"restore {prefix}/sbin/sendmail from {prefix}/sbin/sendmail.smtpq-orig" in out
    assert f"{prefix}/lib/sendmail: left alone, not smtpq's" in out


def test_links_to_an_old_smtpq_install_are_replaced(queue_home: QueueHome) -> None:
    prefix = queue_home.root / "usr"
    (prefix / "sbin").mkdir(parents=True)
    (prefix / "sbin" / "sendmail").symlink_to("/opt/old-venv/bin/smtpq-sendmail")

    code, out, err = smtpq(queue_home, "link", "--prefix", str(prefix))
    assert (code, err) == (0, "")
    assert f"replace {prefix}/sbin/sendmail -> /opt/old-venv/bin/smtpq-sendmail" in out
    assert tree(prefix)["sbin/sendmail"] == SENDMAIL


def test_unlink_removes_only_smtpqs_links(queue_home: QueueHome) -> None:
    prefix = queue_home.root / "usr"
    smtpq(queue_home, "link", "--prefix", str(prefix))
    (prefix / "bin" / "mailq").unlink()
    (prefix / "bin" / "mailq").symlink_to("/usr/sbin/postqueue")  # someone else's since

    code, out, _ = smtpq(queue_home, "unlink", "--prefix", str(prefix), "--dry-run")
    assert code == 0 and "would remove" in out
    assert len(tree(prefix)) == 3

    code, _, err = smtpq(queue_home, "unlink", "--prefix", str(prefix))
    assert (code, err) == (0, "")
    assert tree(prefix) == {"bin/mailq": "/usr/sbin/postqueue"}


def test_the_links_are_sendmail_and_mailq(queue_home: QueueHome, server_at) -> None:
    prefix = queue_home.root / "usr"
    smtpq(queue_home, "link", "--prefix", str(prefix))
    server = server_at()
    queue_home.account(server.port)
    sendmail, mailq = str(prefix / "sbin" / "sendmail"), str(prefix / "bin" / "mailq")

    queued = queue_home.run([sendmail, "-i", "bob@example.net"], mail=b"Subject: via link\n\nhi\n")
    assert (queued.returncode, queued.stderr) == (0, b"")
    listed = queue_home.run([mailq])
    assert listed.returncode == 0 and b"bob@example.net" in listed.stdout
    by_bp = queue_home.run([sendmail, "-bp"]).stdout
    assert by_bp.splitlines()[0] == listed.stdout.splitlines()[0] and b"bob@example.net" in by_bp
    assert queue_home.run([sendmail, "-q"]).returncode == 0
    assert [m.rcpt_tos for m in server.messages] == [["bob@example.net"]]


def test_a_user_without_write_access_is_told_what_to_do(queue_home: QueueHome) -> None:
    needs(os.geteuid() == 0 and shutil.which("setpriv") is not None,
          "needs root and setpriv to run as another user")
    top = Path(tempfile.mkdtemp(prefix="smtpq-link-"))  # /tmp/pytest-of-root is 0700
    top.chmod(0o755)
    prefix = top / "usr"
    (prefix / "sbin").mkdir(parents=True)
    result = subprocess.run(
        nobody().argv("smtpq", "link", "--prefix", str(prefix)), capture_output=True,
        text=True, env=nobody().env(queue_home.env), cwd="/", check=False)
    assert result.returncode == 77, result.stderr  # EX_NOPERM
    assert result.stderr.splitlines() == [
        f"smtpq: {prefix}/sbin: Permission denied",
        "smtpq: hint: run as root, or link for yourself only: smtpq link --prefix ~/.local"]
    assert tree(prefix) == {}
    shutil.rmtree(top)
