"""The scheduling files in ``smtpq/data/`` are valid, and what they run delivers the queue.

* systemd: ``smtpq-flush.service`` + ``.timer`` (user units), as committed and
  as ``smtpq install-units`` writes them (ExecStart pinned to the real smtpq),
  and the system template ``smtpq-flush-online@.service`` pass
  ``systemd-analyze verify`` without a single warning — including its check
  that ``Documentation=man:smtpq(1)`` resolves, against ``smtpq/data/man``; the
  online unit is ordered after ``network-online.target``, and the pinned
  ExecStart, run as it is, delivers queued mail;
* cron: ``smtpq.cron`` has valid schedule fields, and each command (``smtpq
  flush --quiet``), run by ``sh`` as cron would, prints nothing while offline
  (cron would mail it) and delivers once the server is there;
* the services count exit status 75 (offline, deferred) as success.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.dropin.conftest import MailHome, missing
from tests.support.queue_home import SMTPQ, closed_port

ROOT = Path(__file__).resolve().parents[2]
SYSTEMD = ROOT / "smtpq" / "data" / "systemd"
CRON = ROOT / "smtpq" / "data" / "cron" / "smtpq.cron"
MAIL = b"Subject: scheduled\n\nhello\n"


def systemd_analyze() -> str:
    path = shutil.which("systemd-analyze")
    if path is None or shutil.which("man") is None:
        missing("systemd-analyze (package systemd) and man (package man-db)")
    return str(path)


def verify(tmp_path: Path, *units: Path, user: bool) -> None:
    """``systemd-analyze verify`` passes, says nothing, and finds our man page."""
    runtime, manpath = tmp_path / "runtime", tmp_path / "man"
    runtime.mkdir(mode=0o700, exist_ok=True)
    (manpath / "man1").mkdir(parents=True, exist_ok=True)
    for page in (ROOT / "smtpq" / "data" / "man").glob("*.1"):
        shutil.copy(page, manpath / "man1" / page.name)
    env = dict(os.environ, XDG_RUNTIME_DIR=str(runtime), MANPATH=str(manpath))
    argv = [systemd_analyze(), *(["--user"] if user else []), "verify", *map(str, units)]
    result = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60,
                            check=False)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def directives(unit: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in unit.read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.startswith("#"):
            found.setdefault(key.strip(), []).append(value.strip())
    return found


def test_the_user_units_as_committed_verify(tmp_path: Path) -> None:
    verify(tmp_path, SYSTEMD / "smtpq-flush.service", SYSTEMD / "smtpq-flush.timer", user=True)


def test_the_installed_user_units_verify_and_flush(mailhome: MailHome, tmp_path: Path) -> None:
    config = tmp_path / "config"
    result = subprocess.run([SMTPQ, "install-units", "--user", "--no-enable"],
                            capture_output=True, text=True, check=False,
                            env=dict(mailhome.env, XDG_CONFIG_HOME=str(config),
                                     XDG_DATA_HOME=str(tmp_path / "data")))
    assert result.returncode == 0, result.stderr
    units = config / "systemd" / "user"
    verify(tmp_path, units / "smtpq-flush.service", units / "smtpq-flush.timer", user=True)

    (exec_start,) = directives(units / "smtpq-flush.service")["ExecStart"]
    assert exec_start == f"{SMTPQ} flush"
    mailhome.configure(after_enqueue="none")
    mailhome.sendmail(MAIL, "a@example.net")
    mailhome.program(shlex.split(exec_start))
    assert [m.rcpt_tos for m in mailhome.server.messages] == [["a@example.net"]]


def test_the_online_unit_verifies_and_waits_for_the_network(tmp_path: Path) -> None:
    template = SYSTEMD / "smtpq-flush-online@.service"
    shutil.copy(template, tmp_path / template.name)
    verify(tmp_path, tmp_path / "smtpq-flush-online@root.service", user=False)
    unit = directives(template)
    assert unit["After"] == ["network-online.target"] == unit["Wants"]
    assert unit["User"] == ["%i"]


def cron_entries() -> list[tuple[str, str]]:
    """(schedule, command) of every entry in smtpq.cron."""
    entries = []
    for line in CRON.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if line.startswith("@"):
            schedule, command = line.split(None, 1)
        else:
            fields = line.split(None, 5)
            schedule, command = " ".join(fields[:5]), fields[5]
        entries.append((schedule, command))
    return entries


def test_the_cron_entries_are_well_formed() -> None:
    field = r"(\*|\d+(-\d+)?)(/\d+)?(,(\*|\d+(-\d+)?)(/\d+)?)*"
    entries = cron_entries()
    assert len(entries) == 2
    for schedule, command in entries:
        assert schedule == "@reboot" or re.fullmatch(rf"{field}( {field}){{4}}", schedule)
        assert command.endswith("smtpq flush --quiet")


@pytest.mark.parametrize("entry", range(2))
def test_the_cron_commands_are_silent_offline_and_deliver_online(
        mailhome: MailHome, entry: int) -> None:
    _, command = cron_entries()[entry]
    stubs = mailhome.root / "stubs"
    stubs.mkdir()
    (stubs / "sleep").write_text("#!/bin/sh\nexit 0\n")  # @reboot's delay, skipped
    (stubs / "sleep").chmod(0o755)
    env = mailhome.with_path(stubs, Path(SMTPQ).parent)
    mailhome.configure(after_enqueue="none")
    mailhome.sendmail(MAIL, "a@example.net")
    online_port = mailhome.server.port

    mailhome.account(closed_port())
    offline = subprocess.run(["/bin/sh", "-c", command], capture_output=True, env=env,
                             cwd=mailhome.root, timeout=60, check=False)
    # cron ignores the status (75: try later) and mails any output: there is none.
    assert (offline.returncode, offline.stdout, offline.stderr) == (75, b"", b"")
    assert mailhome.server.messages == []

    mailhome.account(online_port)
    online = mailhome.program(["/bin/sh", "-c", command], env=env)
    assert (online.stdout, online.stderr) == (b"", b"")
    assert [m.rcpt_tos for m in mailhome.server.messages] == [["a@example.net"]]


@pytest.mark.parametrize("unit", ["smtpq-flush.service", "smtpq-flush-online@.service"])
def test_the_services_count_a_deferral_or_offline_run_as_success(unit: str) -> None:
    assert directives(SYSTEMD / unit)["SuccessExitStatus"] == ["75"]
