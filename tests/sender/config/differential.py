"""Running msmtp 1.8.23 and smtpq's configuration code on the same input, comparably.

A ``Case`` is a set of files in a fresh HOME (and optionally a system file),
msmtp arguments and environment.  ``run_msmtp`` runs the real binary under
``--pretend`` (or for real, for cases that must fail before sending);
``run_smtpq`` runs ``load_config`` + ``resolve_account`` + ``pretend_lines``
in-process on the same input.  Both return an ``Outcome`` that compares exit
code, stdout lines (notes and ``key = value`` lines) and stderr lines.

The system file cannot be created in /etc (other tests and users share it),
so for msmtp it is bind-mounted in a private mount namespace (``unshare -m``,
root only) over a copy of /etc; smtpq reads it through ``SMTPQ_SYSTEM_CONFIG``
and its path is printed as ``/etc/msmtprc`` for the comparison.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
from pathlib import Path

from smtpq.sender.config.choose import resolve_account
from smtpq.sender.config.evaluate import password_from_command
from smtpq.sender.config.files import load_config
from smtpq.sender.config.settings import Account
from smtpq.sender.config.show import pretend_lines
from smtpq.sender.errors import SmtpqError
from smtpq.sender.options.arguments import protocol

SYSTEM = "/etc/msmtprc"
BASE_ENV = {"USER": "tester", "LOGNAME": "tester", "HOSTNAME": "testhost",
            "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
MAIL = b"Subject: differential\n\nbody\n"
RECIPIENT = "rcpt@example.invalid"


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    files: dict[str, str | bytes]  # relative to HOME
    args: tuple[str, ...] = ()  # "{home}" is replaced by the HOME directory
    env: dict[str, str | None] = dataclasses.field(default_factory=dict)
    system: str | bytes | None = None
    send: bool = False  # run without --pretend (only for cases failing before sending)


def case(name: str, rc: str | bytes | None, *args: str, **kwargs) -> Case:
    """A case with *rc* as ``HOME/rc`` passed with ``-C`` (None: no file, no -C)."""
    files = {} if rc is None else {"rc": rc}
    c_args = () if rc is None else ("-C", "{home}/rc")
    return Case(name, files, c_args + args, **kwargs)


@dataclasses.dataclass
class Outcome:
    exit_code: int
    stdout: list[str]
    stderr: list[str]


def environment(case_: Case, home: Path) -> dict[str, str]:
    env = {"HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin"), **BASE_ENV}
    for key, value in case_.env.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value.replace("{home}", str(home))
    return env


def prepare(case_: Case, home: Path) -> list[str]:
    """Write the files; return the arguments with ``{home}`` filled in."""
    for relative, content in case_.files.items():
        path = home / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        path.chmod(0o600)
    return [arg.replace("{home}", str(home)) for arg in case_.args]


def _lines(data: bytes) -> list[str]:
    text = data.decode("utf-8", "surrogateescape")
    return text.split("\n")[:-1] if text.endswith("\n") else text.split("\n") if text else []


def run_msmtp(msmtp: str, case_: Case, home: Path, fake_etc: Path | None) -> Outcome:
    args = prepare(case_, home)
    argv = [msmtp, *args, RECIPIENT] if case_.send else [msmtp, "--pretend", *args]
    if case_.system is not None:
        assert fake_etc is not None
        system = fake_etc / "msmtprc"
        system.write_bytes(case_.system.encode() if isinstance(case_.system, str) else case_.system)
        argv = ["unshare", "-m", "sh", "-c", 'mount --bind "$0" /etc && exec "$@"',
                str(fake_etc), *argv]
    proc = subprocess.run(argv, input=MAIL, capture_output=True, env=environment(case_, home),
                          cwd=home, timeout=30, check=False)
    if case_.system is not None:
        (fake_etc / "msmtprc").unlink()
    stdout = [] if case_.send else _lines(proc.stdout)
    return Outcome(proc.returncode, stdout, _lines(proc.stderr))


def copy_of_etc(directory: Path) -> Path:
    """A copy of /etc without msmtprc, to bind-mount over /etc."""
    target = directory / "etc"
    shutil.copytree("/etc", target, symlinks=True, ignore_dangling_symlinks=True,
                    ignore=shutil.ignore_patterns("msmtprc"), dirs_exist_ok=True)
    return target


@dataclasses.dataclass
class Options:
    """The few msmtp options the cases use, as smtpq's command-line parser would pass them."""

    config_file: str | None = None
    account: str | None = None
    host: str | None = None
    envelope_from: str | None = None
    sendmail: bool = True
    overrides: Account = dataclasses.field(default_factory=Account)


def parse_options(args: list[str]) -> Options:
    options, rest = Options(), list(args)
    while rest:
        arg = rest.pop(0)
        if arg in ("-C", "-a", "-f"):
            value = rest.pop(0)
            if arg == "-C":
                options.config_file = value
            elif arg == "-a":
                options.account = value
            else:
                options.envelope_from = "" if value == "<>" else value
        elif arg.startswith("--host="):
            options.host = arg.split("=", 1)[1]
        elif arg == "--serverinfo":
            options.sendmail = False
        else:
            _override(options.overrides, arg)
    return options


_OVERRIDES = {
    "--port": ("port", int), "--domain": ("domain", str),
    "--tls-trust-file": ("tls_trust_file", lambda v: v or None),
    "--protocol": ("protocol", protocol), "--proxy-host": ("proxy_host", lambda v: v or None),
}


def _override(overrides: Account, arg: str) -> None:
    option, _, value = arg.partition("=")
    field, convert = _OVERRIDES[option]
    setattr(overrides, field, convert(value))
    overrides.explicit.add(field)


def run_smtpq(case_: Case, home: Path, system_dir: Path) -> Outcome:
    args = prepare(case_, home)
    env = environment(case_, home)
    system = system_dir / "msmtprc"
    if case_.system is not None:
        system.write_bytes(case_.system.encode() if isinstance(case_.system, str) else case_.system)
    env["SMTPQ_SYSTEM_CONFIG"] = str(system) if case_.system is not None else SYSTEM
    options = parse_options(args)
    notes: list[str] = []
    try:
        config = None if options.host is not None else load_config(
            options.config_file, env=env, notes=notes)
        result = resolve_account(
            config, account_name=options.account, host=options.host,
            envelope_from=options.envelope_from, overrides=options.overrides, env=env,
            sendmail=options.sendmail, pretend=not case_.send, notes=notes,
            password_command=lambda command: password_from_command(command, env=env))
    except SmtpqError as error:
        return Outcome(int(error.exit_code), [] if case_.send else _system(notes, system),
                       _system([f"msmtp: {error.message}"], system))
    finally:
        system.unlink(missing_ok=True)
    lines = pretend_lines(result.account, sendmail=options.sendmail)
    lines = [line for line in lines if not line.startswith("set_msgid_header = ")]
    if options.sendmail:
        lines.append("reading recipients from the command line")
    return Outcome(0, _system(notes, system) + lines, [])


def _system(lines: list[str], system: Path) -> list[str]:
    return [line.replace(str(system), SYSTEM) for line in lines]
