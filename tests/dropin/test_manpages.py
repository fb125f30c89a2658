"""The man pages in ``smtpq/data/man`` are what the help texts say today, and valid roff.

* regenerating them (``python -m smtpq.cli.manpage smtpq/data/man``) gives the
  committed files byte for byte, so an option added or reworded cannot leave
  them behind;
* ``groff -man -ww`` finds nothing to warn about, and ``man -l`` renders them;
* ``smtpq(1)`` documents every visible command and option of the click group,
  ``smtpq-sendmail(1)`` every option that ``--help`` lists.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import click
import pytest

from smtpq.cli.main import cli
from smtpq.cli.manpage import PAGES, context, render_all, walk
from smtpq.sender.options.helptext import help_text
from tests.dropin.conftest import missing

MAN_DIR = Path(__file__).resolve().parents[2] / "smtpq" / "data" / "man"


def rendered(page: str) -> str:
    """The page as ``man`` shows it (plain text, 200 columns: one option per line)."""
    if shutil.which("man") is None:
        missing("man (Debian package man-db)")
    result = subprocess.run(["man", "-l", str(MAN_DIR / page)], capture_output=True, text=True,
                            env=dict(os.environ, MANWIDTH="200", MAN_KEEP_FORMATTING="",
                                     MANPAGER="cat", PAGER="cat"), check=False)
    assert (result.returncode, result.stderr) == (0, "")
    return result.stdout.replace("\u2010", "-")


def test_the_committed_pages_are_up_to_date() -> None:
    pages = render_all()
    assert sorted(pages) == sorted(PAGES)
    for name, text in pages.items():
        committed = (MAN_DIR / name).read_text(encoding="utf-8")
        assert committed == text, (
            f"smtpq/data/man/{name} is out of date: run"
            "  python -m smtpq.cli.manpage smtpq/data/man")


@pytest.mark.parametrize("page", PAGES)
def test_groff_has_no_warnings(page: str) -> None:
    if shutil.which("groff") is None:
        missing("groff (Debian package groff-base)")
    result = subprocess.run(["groff", "-man", "-ww", "-z", str(MAN_DIR / page)],
                            capture_output=True, text=True, check=False)
    assert (result.returncode, result.stderr) == (0, "")


def test_smtpq_page_documents_every_command_and_option() -> None:
    text = rendered("smtpq.1")
    root = context(cli, "smtpq")
    for command, ctx in walk(cli, root):
        if isinstance(command, click.Group):
            continue
        assert ctx.command_path in text
        for param in command.get_params(ctx):
            if isinstance(param, click.Option) and not param.hidden:
                for flag in param.opts:
                    assert flag in text, (ctx.command_path, flag)


def test_sendmail_page_documents_every_option_of_help() -> None:
    text = rendered("smtpq-sendmail.1")
    options = set(re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", help_text("smtpq-sendmail")))
    assert {"--send-now", "--tls-starttls", "-bp", "-t", "-C"} <= options
    missing_options = sorted(o for o in options if not re.search(rf"(?<![\w-]){o}(?![\w])", text))
    assert missing_options == []
    for section in ("SYNOPSIS", "MODES", "OPTIONS", "FILES", "ENVIRONMENT", "EXIT STATUS"):
        assert f"\n{section}\n" in text
