"""``smtpq install-units`` / ``smtpq uninstall-units``: the files that keep the queue moving.

The wheel carries them in ``smtpq/data/``: systemd units, the NetworkManager
dispatcher script, the cron line, the man pages and the shell completions.
Installing copies them where systemd, NetworkManager, man and the shells look,
with every unit and script calling smtpq by the absolute path it is installed
at (a user manager's or cron's ``PATH`` rarely holds ``~/.local/bin``, where
pipx puts it).  What was written is listed in a manifest, and
``uninstall-units`` removes exactly that (disabling the timer first).

* ``--user`` (the default, for root too): the ``smtpq-flush`` service and
  timer in ``~/.config/systemd/user`` (enabled unless ``--no-enable``; with
  ``--cron``, the cron lines in the user's crontab instead), man pages in
  ``~/.local/share/man/man1``, completions for bash, zsh and fish;
* ``--system`` (asked for explicitly, as root): the ``smtpq-flush-online@.service``
  template in ``/etc/systemd/system``, the dispatcher script in
  ``/etc/NetworkManager/dispatcher.d`` with ``SMTPQ=`` in
  ``/etc/default/smtpq``, man pages and completions under ``/usr/local/share``.

``--root DIR`` prefixes every system path (a staging directory, as DESTDIR).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import click

from smtpq.sender.errors import SmtpqError
from smtpq.sender.sysexits import ExitCode

CRON_MARK = "# smtpq install-units"


@dataclass(frozen=True)
class Shipped:
    """One file to install: where it comes from in ``smtpq/data``, where it goes, its mode."""

    source: str
    target: Path
    mode: int = 0o644
    #: Turns the shipped text into the installed one (pins the smtpq path).
    edit: Callable[[str, str], str] | None = None


def _pin_exec(text: str, smtpq: str) -> str:
    """``ExecStart=/usr/bin/env smtpq …`` → ``ExecStart=/abs/path/smtpq …``."""
    return text.replace("ExecStart=/usr/bin/env smtpq ", f"ExecStart={smtpq} ")


def _data(name: str) -> str:
    return (resources.files("smtpq") / "data" / name).read_text(encoding="utf-8")


def user_files(home: Path, config: Path, data: Path) -> list[Shipped]:
    """What ``--user`` installs, for this HOME and XDG directories."""
    units = config / "systemd" / "user"
    return [
        Shipped("systemd/smtpq-flush.service", units / "smtpq-flush.service", edit=_pin_exec),
        Shipped("systemd/smtpq-flush.timer", units / "smtpq-flush.timer"),
        *_docs(data),
        Shipped("completion/smtpq.fish", config / "fish" / "completions" / "smtpq.fish"),
    ]


def system_files(root: Path) -> list[Shipped]:
    """What ``--system`` installs, under *root* (``/`` normally)."""
    usr = root / "usr" / "local" / "share"
    return [
        Shipped("systemd/smtpq-flush-online@.service",
                root / "etc" / "systemd" / "system" / "smtpq-flush-online@.service",
                edit=_pin_exec),
        Shipped("networkmanager/90-smtpq-flush",
                root / "etc" / "NetworkManager" / "dispatcher.d" / "90-smtpq-flush", 0o755),
        *_docs(usr),
        Shipped("completion/smtpq.fish", usr / "fish" / "vendor_completions.d" / "smtpq.fish"),
    ]


def _docs(share: Path) -> list[Shipped]:
    return [
        Shipped("man/smtpq.1", share / "man" / "man1" / "smtpq.1"),
        Shipped("man/smtpq-sendmail.1", share / "man" / "man1" / "smtpq-sendmail.1"),
        Shipped("completion/smtpq.bash", share / "bash-completion" / "completions" / "smtpq"),
        Shipped("completion/_smtpq", share / "zsh" / "site-functions" / "_smtpq"),
    ]


@dataclass(frozen=True)
class Place:
    """Where one kind of installation goes: its files, its manifest, its root."""

    files: list[Shipped]
    manifest: Path
    user: bool
    root: Path


def place(*, system: bool, root: str | None) -> Place:
    """The installation asked for (``--user``/``--system``, ``--root``)."""
    env = os.environ
    if system:
        top = Path(root or "/")
        return Place(system_files(top), top / "var" / "lib" / "smtpq" / "installed-files",
                     False, top)
    home = Path(env.get("HOME") or os.path.expanduser("~"))
    config = Path(env.get("XDG_CONFIG_HOME") or home / ".config")
    data = Path(env.get("XDG_DATA_HOME") or home / ".local" / "share")
    return Place(user_files(home, config, data), data / "smtpq" / "installed-files", True, home)


def install(where: Place, smtpq: str) -> list[Path]:
    """Write every file (pinned to *smtpq*); the paths written, also in the manifest."""
    written = []
    for item in where.files:
        text = _data(item.source)
        if item.edit is not None:
            text = item.edit(text, smtpq)
        item.target.parent.mkdir(parents=True, exist_ok=True)
        temporary = item.target.with_name(f".{item.target.name}.smtpq-new")
        temporary.write_text(text, encoding="utf-8")
        temporary.chmod(item.mode)
        os.replace(temporary, item.target)
        written.append(item.target)
    if not where.user:
        written += _defaults(where.root, smtpq)
    _write_manifest(where.manifest, written)
    return written


def _defaults(root: Path, smtpq: str) -> list[Path]:
    """``/etc/default/smtpq``: tell the dispatcher script where smtpq is (kept if present)."""
    path = root / "etc" / "default" / "smtpq"
    if path.exists():
        return []
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("# Written by smtpq install-units: the program the NetworkManager hook runs.\n"
                    f"SMTPQ={smtpq}\n# SMTPQ_FLUSH_USERS=\"alice bob\"\n", encoding="utf-8")
    return [path]


def _write_manifest(manifest: Path, written: list[Path]) -> None:
    known = set(read_manifest(manifest))
    manifest.parent.mkdir(parents=True, exist_ok=True)
    lines = sorted(known | {str(path) for path in written})
    manifest.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")


def read_manifest(manifest: Path) -> list[str]:
    try:
        return [line for line in manifest.read_text(encoding="utf-8").splitlines() if line]
    except FileNotFoundError:
        return []


def uninstall(where: Place) -> list[str]:
    """Remove every file the manifest lists; the paths removed."""
    removed = []
    for line in read_manifest(where.manifest):
        try:
            os.unlink(line)
        except FileNotFoundError:
            continue
        removed.append(line)
    where.manifest.unlink(missing_ok=True)
    return removed


# -- schedulers -------------------------------------------------------------------

def _systemctl(*args: str) -> str | None:
    """Run ``systemctl --user ARGS``; None when it worked, else why not."""
    if shutil.which("systemctl") is None:
        return "systemctl is not installed"
    done = subprocess.run(["systemctl", "--user", *args], capture_output=True, text=True,
                          timeout=60, check=False)
    if done.returncode != 0:
        return (done.stderr.strip() or f"exit status {done.returncode}").splitlines()[0]
    return None


def cron_lines(smtpq: str) -> list[str]:
    """The shipped cron entries, pinned to *smtpq*, each marked as ours."""
    lines = []
    for line in _data("cron/smtpq.cron").splitlines():
        if line.strip() and not line.startswith("#"):
            lines.append(line.replace("smtpq flush", f"{smtpq} flush") + f"  {CRON_MARK}")
    return lines


def _crontab(edit: Callable[[list[str]], list[str]]) -> None:
    """Rewrite the user's crontab through *edit* (lines in, lines out)."""
    if shutil.which("crontab") is None:
        raise SmtpqError("crontab is not installed (Debian package cron)",
                         exit_code=ExitCode.EX_UNAVAILABLE)
    current = subprocess.run(["crontab", "-l"], capture_output=True, text=True, check=False)
    lines = current.stdout.splitlines() if current.returncode == 0 else []
    edited = edit(lines)
    if edited != lines:  # never write (or create) a crontab for nothing
        subprocess.run(["crontab", "-"], input="".join(f"{line}\n" for line in edited),
                       text=True, check=True, capture_output=True)


def _without_ours(lines: list[str]) -> list[str]:
    return [line for line in lines if not line.endswith(CRON_MARK)]


def _say(lines: Iterator[str] | list[str]) -> None:
    for line in lines:
        click.echo(line)


# -- commands -----------------------------------------------------------------------

def _where(user: bool, system: bool, root: str | None) -> Place:
    if user and system:
        raise click.UsageError("--user and --system exclude each other")
    if root is not None and not system:
        raise click.UsageError("--root goes with --system")
    return place(system=system, root=root)


@click.command("install-units")
@click.option("--user", is_flag=True, help="For you only (the default).")
@click.option("--system", is_flag=True, help="For the whole system (as root).")
@click.option("--root", metavar="DIR", help="With --system: install under DIR (staging).")
@click.option("--no-enable", is_flag=True, help="Do not enable the user timer.")
@click.option("--cron", is_flag=True, help="With --user: add the cron lines to your crontab "
              "instead of the systemd timer.")
def install_units(user: bool, system: bool, root: str | None, no_enable: bool,
                  cron: bool) -> None:
    """Install the systemd units, NetworkManager hook, cron line, man pages and completions.

    Units and scripts call smtpq by the path it is installed at.  --user
    installs the flush timer (enabled at once), man pages and completions
    in your home; --system (as root) the unit that flushes at boot once the
    network is online, the NetworkManager hook that flushes whenever a
    connection comes up, man pages and completions under /usr/local/share.
    "smtpq uninstall-units" removes what this wrote.

    \b
    Example:
        smtpq install-units                # as yourself: timer, man pages, completions
        sudo "$(command -v smtpq)" install-units --system
    """
    from smtpq.cli.commands.links import script_path

    where = _where(user, system, root)
    smtpq = script_path("smtpq")
    files = where.files if not (where.user and cron) else [
        item for item in where.files if not item.source.startswith("systemd/")]
    written = install(Place(files, where.manifest, where.user, where.root), smtpq)
    _say(f"installed {path}" for path in written)
    if where.user and cron:
        _crontab(lambda lines: _without_ours(lines) + cron_lines(smtpq))
        click.echo(f"added to your crontab: {smtpq} flush every 15 minutes and at boot")
    elif where.user and not no_enable:
        problem = _systemctl("daemon-reload") or _systemctl("enable", "--now", "smtpq-flush.timer")
        if problem is None:
            click.echo("enabled smtpq-flush.timer (systemctl --user)")
        else:
            click.echo(f"smtpq-flush.timer not enabled: {problem}", err=True)
            click.echo("enable it later with: systemctl --user enable --now smtpq-flush.timer",
                       err=True)
    elif not where.user:
        click.echo("enable the boot-time flush for a user with: "
                   "systemctl enable smtpq-flush-online@USER.service")


@click.command("uninstall-units")
@click.option("--user", is_flag=True, help="What install-units --user wrote (the default).")
@click.option("--system", is_flag=True, help="What install-units --system wrote.")
@click.option("--root", metavar="DIR", help="With --system: the staging DIR it was installed in.")
def uninstall_units(user: bool, system: bool, root: str | None) -> None:
    """Remove what "smtpq install-units" installed (and its cron lines).

    \b
    Example:
        smtpq uninstall-units
    """
    where = _where(user, system, root)
    if where.user:
        if any(line.endswith("smtpq-flush.timer") for line in read_manifest(where.manifest)):
            _systemctl("disable", "--now", "smtpq-flush.timer")  # best effort: it may not run
        if shutil.which("crontab") is not None:
            _crontab(_without_ours)
    removed = uninstall(where)
    _say(f"removed {path}" for path in removed)
    if not removed:
        click.echo("nothing installed by smtpq install-units")


COMMANDS = (install_units, uninstall_units)
