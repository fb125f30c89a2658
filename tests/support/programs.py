"""Where the programs under test are: smtpq's console scripts and the real msmtp."""

from __future__ import annotations

import os
import shutil
import sys

import pytest


def in_ci() -> bool:
    return os.environ.get("CI") == "true"


def needs(condition: bool, what: str, *, module: bool = False) -> None:
    """Skip the test (the whole module, *module*) here unless *condition*; in CI (root,
    a fresh Debian machine with everything installed) the condition always holds, so
    there it fails instead.  The one way a test depends on its machine."""
    if condition:
        return
    if in_ci():
        pytest.fail(f"CI must run this test, but it {what}")
    pytest.skip(what, allow_module_level=module)


def msmtp_binary() -> str:
    """The real msmtp; tests that need it skip locally but fail in CI when it is missing."""
    path = shutil.which("msmtp")
    needs(path is not None, "needs msmtp (Debian package msmtp)")
    assert path is not None
    return path


def venv_script(name: str) -> str:
    """A console script installed next to the running interpreter."""
    path = os.path.join(os.path.dirname(sys.executable), name)
    if not os.path.exists(path):
        pytest.fail(f"{name} is not installed in {os.path.dirname(sys.executable)}")
    return path


def smtpq_sendmail() -> str:
    return venv_script("smtpq-sendmail")
