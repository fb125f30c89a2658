"""``git send-email`` delivers a patch series through smtpq, and the patches still apply.

git runs its sendmail command as ``CMD -i [-f FROM] RCPT…`` once per patch.
Three patches (one with 8-bit text, lines starting with "." and "From ",
trailing blanks) go through ``smtpq-sendmail`` (``--sendmail-cmd``) and
through a ``sendmail`` link made by ``smtpq link`` (``--smtp-server=PATH``,
as when smtpq is the system's /usr/sbin/sendmail).  What the server gets is
threaded, addressed to every To/Cc, and ``git am`` turns it back into the
very same tree.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.dropin.conftest import Linked, MailHome, missing, need, parsed
from tests.support.queue_home import SENDMAIL

AUTHOR = ("Jörg Tester", "me@example.org")
FILES = [
    ("README", "first line\n"),
    ("grüße.txt", "Grüße aus Köln: ½ € ✓\n.leading dot\n..two dots\n.\nFrom the start\n"),
    ("README", "first line\nsecond line with trailing blanks   \n\ttab\n"),
]


def git_send_email() -> str:
    git = need("git", "git")
    exec_path = subprocess.run([git, "--exec-path"], capture_output=True, text=True,
                               check=True).stdout.strip()
    if not os.path.exists(os.path.join(exec_path, "git-send-email")):
        missing("git send-email (Debian package git-email)")
    if subprocess.run(["perl", "-MMail::Address", "-e1"], capture_output=True,
                      check=False).returncode:
        missing("perl's Mail::Address (Debian package libmailtools-perl)")
    return git


def make_series(home: MailHome, git: str) -> tuple[Path, list[Path]]:
    """A repository with a base commit and three more; their patches (format-patch)."""
    repo = home.root / "repo"

    def run(*args: str) -> None:
        home.program([git, "-C", str(repo), *args])
    home.program([git, "config", "--global", "user.name", AUTHOR[0]])  # in the temp HOME
    home.program([git, "config", "--global", "user.email", AUTHOR[1]])
    home.program([git, "init", "-q", "-b", "main", str(repo)])
    (repo / "base").write_text("base\n")
    run("add", "base")
    run("commit", "-q", "-m", "base")
    for number, (name, text) in enumerate(FILES, 1):
        (repo / name).write_text(text, encoding="utf-8")
        run("add", name)
        run("commit", "-q", "-m", f"change {number}: {name}\n\nBody ü of change {number}.")
    out = home.root / "patches"
    run("format-patch", "-q", "-3", "-o", str(out))
    return repo, sorted(out.glob("*.patch"))


def send_email(home: MailHome, git: str, repo: Path, patches: list[Path], *how: str) -> None:
    home.program([git, "-C", str(repo), "send-email", *how, "--to=list@example.net",
                  "--cc=Ann Example <ann@example.net>", "--suppress-cc=self",
                  "--confirm=never", "--quiet", *map(str, patches)])


def check_series(home: MailHome, git: str, repo: Path) -> None:
    """Three threaded mails reached every recipient, and ``git am`` rebuilds the tree."""
    received = home.arrived(3)
    assert home.server.messages[3:] == []
    mails = sorted((parsed(r) for r in received), key=lambda m: str(m["Subject"]))
    assert [str(m["Subject"]) for m in mails] == [
        f"[PATCH {n}/3] change {n}: {name}" for n, (name, _) in enumerate(FILES, 1)]
    for r in received:
        assert sorted(r.rcpt_tos) == ["ann@example.net", "list@example.net"]
        assert r.mail_from == "me@example.org"
    first = mails[0]["Message-Id"]
    assert all(m["In-Reply-To"] == first for m in mails[1:])
    assert str(mails[1]["From"]) == f"{AUTHOR[0]} <{AUTHOR[1]}>"
    assert "Grüße aus Köln: ½ € ✓" in mails[1].get_content()

    clone = home.root / "clone"
    home.program([git, "clone", "-q", str(repo), str(clone)])
    home.program([git, "-C", str(clone), "reset", "-q", "--hard", "HEAD~3"])
    files = []
    for number, r in enumerate(sorted(received, key=lambda r: parsed(r)["Subject"])):
        files.append(home.root / f"mail{number}.eml")
        files[-1].write_bytes(r.data)
    home.program([git, "-C", str(clone), "am", "-q", *map(str, files)])
    assert tree_of(home, git, clone) == tree_of(home, git, repo)


def tree_of(home: MailHome, git: str, repo: Path) -> bytes:
    return home.program([git, "-C", str(repo), "rev-parse", "HEAD^{tree}"]).stdout


def test_git_send_email_with_sendmail_cmd(mailhome: MailHome) -> None:
    git = git_send_email()
    repo, patches = make_series(mailhome, git)
    send_email(mailhome, git, repo, patches, f"--sendmail-cmd={SENDMAIL}")
    check_series(mailhome, git, repo)


def test_git_send_email_through_a_sendmail_link(mailhome: MailHome, linked: Linked) -> None:
    git = git_send_email()
    repo, patches = make_series(mailhome, git)
    send_email(mailhome, git, repo, patches, f"--smtp-server={linked.sendmail}")
    check_series(mailhome, git, repo)
