"""Where the programs under test are: smtpq's console scripts and the real msmtp."""

from __future__ import annotations

import os
import shutil
import sys

import pytest


def in_ci() -> bool:
    return os.environ.get("CI") == "true"


def needs(condition: bool, what: str) -> None:
    """Skip the test here unless *condition*; in CI (root, a fresh Debian machine with
    everything installed) the condition always holds, so there it fails instead."""
    if condition:
        return
    if in_ci():
        pytest.fail(f"CI must run this test, but it {what}")
    pytest.skip(what)


def msmtp_binary() -> str:
    """The real msmtp; tests that need it skip locally but fail in CI when it is missing."""
    path = shutil.which("msmtp")
    if path is None:
        if in_ci():
            pytest.fail("msmtp is not installed, but CI must run the differential tests")
        pytest.skip("msmtp is not installed")
    return path


def venv_script(name: str) -> str:
    """A console script installed next to the running interpreter."""
    path = os.path.join(os.path.dirname(sys.executable), name)
    if not os.path.exists(path):
        pytest.fail(f"{name} is not installed in {os.path.dirname(sys.executable)}")
    return path


def smtpq_sendmail() -> str:
    return venv_script("smtpq-sendmail")
