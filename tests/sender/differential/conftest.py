"""Fixtures of the differential tests: server fixtures bundled, and a home with an msmtprc."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.sender.differential.harness import Target
from tests.sender.differential.servers import Fixtures


@pytest.fixture
def fixtures(smtp_server, scripted_server, tls_material, monkeypatch, tmp_path) -> Fixtures:
    return Fixtures(smtp_server, scripted_server, tls_material, monkeypatch, tmp_path)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


def write_home(home: Path, target: Target, rc: str | None,
               files: tuple[tuple[str, str], ...] = ()) -> None:
    """The msmtprc (0600, ``{port}``/``{ca}`` filled in) and extra files for one case."""
    if rc is not None:
        path = home / ".msmtprc"
        path.write_text(rc.format(port=target.port, ca=target.ca_file))
        path.chmod(0o600)
    for name, text in files:
        (home / name).write_text(text)


@pytest.fixture
def prepare_home(home: Path) -> Callable[..., None]:
    return lambda target, rc=None, files=(): write_home(home, target, rc, files)
