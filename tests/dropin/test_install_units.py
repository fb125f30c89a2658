"""``smtpq install-units`` / ``uninstall-units``: from a wheel to a working daily setup.

* ``--user`` in a fresh HOME: the flush service and timer (ExecStart = the smtpq
  that ran the command, by its absolute path), man pages, bash/zsh/fish
  completions, a manifest; ``uninstall-units`` removes exactly those files;
* ``--system --root DIR``: the boot-time online unit, the NetworkManager hook
  (executable) with ``SMTPQ=`` in ``/etc/default/smtpq``, man pages and
  completions under ``/usr/local/share``;
* ``--cron``: the cron lines in the user's crontab (run as uid 65534 so the
  test touches no real user's crontab), pinned, and taken out again;
* installed from the wheel into a new environment, as pipx does: the units
  call that environment's smtpq, and the service's command runs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import venv
from pathlib import Path

import pytest

from smtpq.cli.completion import shipped
from tests.support.other_user import SETPRIV, need_setpriv, nobody
from tests.support.programs import needs
from tests.support.queue_home import SMTPQ, QueueHome, queue_home  # noqa: F401 - fixture

ROOT = Path(__file__).resolve().parents[2]
USER_FILES = (".config/systemd/user/smtpq-flush.service", ".config/systemd/user/smtpq-flush.timer",
              ".local/share/man/man1/smtpq.1", ".local/share/man/man1/smtpq-sendmail.1",
              ".local/share/bash-completion/completions/smtpq",
              ".local/share/zsh/site-functions/_smtpq", ".config/fish/completions/smtpq.fish")


def exec_start(unit: Path) -> str:
    (line,) = [line for line in unit.read_text().splitlines() if line.startswith("ExecStart=")]
    return line.removeprefix("ExecStart=")


def files_under(top: Path) -> set[str]:
    return {str(path.relative_to(top)) for path in top.rglob("*") if path.is_file()}


def test_the_shipped_completions_are_up_to_date() -> None:
    for name, text in shipped().items():
        assert (ROOT / "smtpq" / "data" / "completion" / name).read_text() == text, (
            f"{name} is out of date: run  python -m smtpq.cli.completion smtpq/data/completion")


def test_user_install_puts_everything_in_place_and_uninstall_takes_it_back(
        queue_home: QueueHome) -> None:
    done = queue_home.smtpq("install-units", "--user", "--no-enable")
    assert done.returncode == 0, done.stderr.decode()
    home = queue_home.home
    for name in USER_FILES:
        assert (home / name).is_file(), name
        assert f"installed {home / name}" in done.stdout.decode()
    assert exec_start(home / USER_FILES[0]) == f"{SMTPQ} flush"
    manifest = home / ".local/share/smtpq/installed-files"
    assert sorted(manifest.read_text().split()) == sorted(str(home / n) for n in USER_FILES)
    again = queue_home.smtpq("install-units", "--user", "--no-enable")  # idempotent
    assert again.returncode == 0, again.stderr.decode()

    gone = queue_home.smtpq("uninstall-units", "--user")
    assert gone.returncode == 0, gone.stderr.decode()
    assert not any((home / name).exists() for name in USER_FILES)
    assert not manifest.exists()
    assert b"nothing installed" in queue_home.smtpq("uninstall-units", "--user").stdout


def test_without_a_user_manager_the_timer_is_not_enabled_and_it_says_how(
        queue_home: QueueHome) -> None:
    queue_home.env["XDG_RUNTIME_DIR"] = str(queue_home.root / "no-runtime")
    done = queue_home.smtpq("install-units", "--user")
    assert done.returncode == 0, done.stderr.decode()
    err = done.stderr.decode()
    assert "smtpq-flush.timer not enabled" in err or b"enabled smtpq-flush.timer" in done.stdout
    assert (queue_home.home / USER_FILES[0]).is_file()


def test_system_install_into_a_staging_root(queue_home: QueueHome, tmp_path: Path) -> None:
    stage = tmp_path / "stage"
    done = queue_home.smtpq("install-units", "--system", "--root", str(stage))
    assert done.returncode == 0, done.stderr.decode()
    assert files_under(stage) == {
        "etc/systemd/system/smtpq-flush-online@.service",
        "etc/NetworkManager/dispatcher.d/90-smtpq-flush", "etc/default/smtpq",
        "usr/local/share/man/man1/smtpq.1", "usr/local/share/man/man1/smtpq-sendmail.1",
        "usr/local/share/bash-completion/completions/smtpq",
        "usr/local/share/zsh/site-functions/_smtpq",
        "usr/local/share/fish/vendor_completions.d/smtpq.fish",
        "var/lib/smtpq/installed-files"}
    assert exec_start(stage / "etc/systemd/system/smtpq-flush-online@.service") == (
        f"{SMTPQ} flush")
    hook = stage / "etc/NetworkManager/dispatcher.d/90-smtpq-flush"
    assert hook.stat().st_mode & 0o777 == 0o755
    assert f"SMTPQ={SMTPQ}\n" in (stage / "etc/default/smtpq").read_text()
    assert queue_home.smtpq("uninstall-units", "--system", "--root", str(stage)).returncode == 0
    assert files_under(stage) == set()


def test_user_and_system_exclude_each_other(queue_home: QueueHome) -> None:
    done = queue_home.smtpq("install-units", "--user", "--system")
    assert done.returncode == 64
    assert b"exclude each other" in done.stderr


def test_cron_lines_go_into_the_crontab_pinned_and_come_out_again() -> None:
    need_setpriv()
    needs(shutil.which("crontab") is not None, "needs crontab (Debian package cron)")
    home = Path(tempfile.mkdtemp(prefix="smtpq-cron-"))
    os.chown(home, 65534, 65534)
    env = nobody().env({"HOME": str(home), "PATH": os.environ["PATH"], "LC_ALL": "C.UTF-8"})

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(nobody().argv(*argv), env=env, capture_output=True, text=True,
                              cwd="/", timeout=60, check=False)

    try:
        installed = run("smtpq", "install-units", "--user", "--cron")
        assert installed.returncode == 0, installed.stderr
        crontab = subprocess.run([*SETPRIV, "crontab", "-l"], capture_output=True, text=True,
                                 check=False)
        ours = [line for line in crontab.stdout.splitlines() if "smtpq install-units" in line]
        assert len(ours) == 2
        assert all(f"{nobody().prefix}/bin/smtpq flush" in line for line in ours)
        assert not (home / ".config/systemd/user/smtpq-flush.service").exists()
        assert run("smtpq", "uninstall-units", "--user").returncode == 0
        after = subprocess.run([*SETPRIV, "crontab", "-l"], capture_output=True, text=True,
                               check=False)
        assert "smtpq" not in after.stdout
    finally:
        subprocess.run(["crontab", "-u", "nobody", "-r"], capture_output=True, check=False)
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def wheel_env(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new environment with smtpq installed from its wheel (its dependencies borrowed)."""
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(out), str(ROOT)], check=True, capture_output=True, timeout=300)
    (wheel,) = out.glob("smtpq-*.whl")
    target = tmp_path_factory.mktemp("pipx") / "venv"
    venv.create(target, with_pip=False)
    site = Path(sysconfig.get_path("purelib", vars={"base": str(target)}))
    # The dependencies of the test environment, after the new one's own packages.
    (site / "deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(target / "bin" / "python"),
                    "install", "-q", "--no-deps", str(wheel)],
                   check=True, capture_output=True, timeout=300)
    return target


def test_installed_from_the_wheel_the_units_call_that_smtpq(
        wheel_env: Path, queue_home: QueueHome) -> None:
    smtpq = wheel_env / "bin" / "smtpq"
    done = queue_home.run([str(smtpq), "install-units", "--user", "--no-enable"])
    assert done.returncode == 0, done.stderr.decode()
    unit = queue_home.home / USER_FILES[0]
    command = exec_start(unit)
    assert command == f"{smtpq} flush"
    flushed = queue_home.run(command.split())
    assert flushed.returncode == 0, flushed.stderr.decode()
    man = (queue_home.home / USER_FILES[2]).read_text()
    assert man == (ROOT / "smtpq/data/man/smtpq.1").read_text()
