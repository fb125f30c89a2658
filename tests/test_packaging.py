"""The distribution is what SPEC.md says: name, import package, console scripts, migrations inside."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(out), str(ROOT)], check=True, capture_output=True, timeout=300)
    (path,) = out.glob("smtpq-*.whl")
    return zipfile.ZipFile(path)


def test_the_wheel_ships_the_alembic_migrations(wheel) -> None:
    names = set(wheel.namelist())
    assert "smtpq/migrations/env.py" in names
    assert "smtpq/migrations/script.py.mako" in names
    assert any(n.startswith("smtpq/migrations/versions/0001_") for n in names)
    assert "smtpq/py.typed" in names


def test_the_console_scripts_are_smtpq_and_smtpq_sendmail(wheel) -> None:
    (entry_points,) = [n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt")]
    text = wheel.read(entry_points).decode()
    assert "smtpq = smtpq.cli.main:main" in text
    assert "smtpq-sendmail = smtpq.cli.sendmail:main" in text


def test_runtime_dependencies_are_declared(wheel) -> None:
    (metadata,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    requires = [line for line in wheel.read(metadata).decode().splitlines()
                if line.startswith("Requires-Dist:") and "extra ==" not in line]
    names = {line.split()[1].split(">")[0].split("=")[0].lower() for line in requires}
    assert {"sqlalchemy", "alembic", "tenacity", "click", "filelock"} <= names
