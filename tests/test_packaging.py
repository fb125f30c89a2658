"""The distribution is what docs/interface.md says: name, import package, console scripts, migrations inside."""

from __future__ import annotations

import ast
import re
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


def test_the_commands_are_smtpq_and_smtpq_sendmail(wheel) -> None:
    (entry_points,) = [n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt")]
    assert "smtpq = smtpq.cli.entry:smtpq_main" in wheel.read(entry_points).decode()
    (script,) = [n for n in wheel.namelist() if n.endswith(".data/scripts/smtpq-sendmail")]
    text = wheel.read(script).decode()
    # A plain script whose "#!python" pip rewrites to the environment's interpreter.
    assert text.startswith("#!python\n")
    assert "from smtpq.cli.entry import sendmail_main as main" in text


def test_smtpq_sendmail_launcher_imports_only_the_entry_point() -> None:
    """Not the console-script wrapper's ``import re`` (4 ms of every enqueue); the enqueue
    path's own imports are checked in tests/queue/enqueue/test_queue_enqueue_sqlite.py."""
    tree = ast.parse((ROOT / "bin" / "smtpq-sendmail").read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported == {"sys", "smtpq.cli.entry"}


def test_runtime_dependencies_are_declared(wheel) -> None:
    (metadata,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    requires = [line for line in wheel.read(metadata).decode().splitlines()
                if line.startswith("Requires-Dist:") and "extra ==" not in line]
    names = {line.split()[1].split(">")[0].split("=")[0].lower() for line in requires}
    assert {"sqlalchemy", "alembic", "tenacity", "click", "dnspython"} <= names
    assert "filelock" not in names  # docs/architecture.md, Dependencies


def test_the_wheel_carries_what_install_units_puts_in_place(wheel) -> None:
    names = set(wheel.namelist())
    assert {f"smtpq/data/{name}" for name in (
        "systemd/smtpq-flush.service", "systemd/smtpq-flush.timer",
        "systemd/smtpq-flush-online@.service", "networkmanager/90-smtpq-flush",
        "cron/smtpq.cron", "man/smtpq.1", "man/smtpq-sendmail.1",
        "completion/smtpq.bash", "completion/_smtpq", "completion/smtpq.fish")} <= names


def test_every_declared_dependency_is_imported_by_smtpq() -> None:
    """A dependency earns its place: each one ``pyproject.toml`` declares is imported
    somewhere in ``smtpq/`` (its import names from its installed metadata)."""
    import tomllib
    from importlib.metadata import packages_distributions

    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    names = {re.split(r"[<>=!~ \[;]", spec, maxsplit=1)[0].lower() for spec in declared}
    provides: dict[str, set[str]] = {}
    for top, distributions in packages_distributions().items():
        for distribution in distributions:
            provides.setdefault(distribution.lower(), set()).add(top)
    imported = set()
    for path in (ROOT / "smtpq").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                imported.add(node.module.split(".")[0])
    unused = {name for name in names if not provides.get(name, set()) & imported}
    assert unused == set()
