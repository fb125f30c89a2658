"""Every ``smtpq`` command documents itself with an example; completion; errors as sysexits.

Like sqlite-utils' ``test_commands_have_help``: a command cannot ship
without help text that shows how to use it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import click
import pytest

from smtpq.cli.main import cli
from tests.cli.cli_support import (  # noqa: F401 - the queue fixture
    SMTPQ,
    QueueBuilder,
    queue,
    run_program,
    smtpq,
)


def commands(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """The command path of every command and group under *group* (as help lists them: the
    ``smtpq`` group imports a command's module only when asked for it)."""
    context = click.Context(group)
    for name in group.list_commands(context):
        yield (*path, name)
        command = group.get_command(context, name)
        if isinstance(command, click.Group):
            yield from commands(command, (*path, name))


ALL_COMMANDS = list(commands(cli))
#: ``smtpq send --help`` is msmtp's --help: send passes every argument on.
CLICK_HELP = [path for path in ALL_COMMANDS if path != ("send",)]


def test_the_expected_commands_exist():
    assert {"list", "show", "purge", "retry", "send", "db", "completion",
            ("db", "upgrade"), ("db", "current")} <= {p[0] if len(p) == 1 else p
                                                     for p in ALL_COMMANDS}


@pytest.mark.parametrize("path", ALL_COMMANDS, ids=" ".join)
def test_every_command_has_help_with_an_example(path):
    command: click.Command = cli
    context = click.Context(cli, info_name="smtpq", **cli.context_settings)
    for name in path:
        assert isinstance(command, click.Group)
        found = command.get_command(context, name)
        assert found is not None
        command = found
        context = click.Context(command, info_name=name, parent=context, **command.context_settings)
    help_text = command.get_help(context)
    assert command.help and command.help.strip()
    example = help_text.split("Example:\n", 1)
    assert len(example) == 2, f"smtpq {' '.join(path)} --help has no Example:"
    lines = [line for line in example[1].split("\n\n")[0].splitlines() if line.strip()]
    # \b kept the example lines apart: each is a command line of its own.
    assert lines and all("smtpq" in line for line in lines), lines


@pytest.mark.parametrize("path", CLICK_HELP, ids=" ".join)
@pytest.mark.parametrize("option", ["--help", "-h"])
def test_help_options_print_the_help(path, option):
    result = smtpq(*path, option)
    assert result.exit_code == 0 and "Example:" in result.stdout


def test_smtpq_alone_prints_its_help(queue: QueueBuilder):
    result = smtpq()
    assert result.exit_code == 0 and "Commands:" in result.stdout


class TestCompletion:
    @pytest.mark.parametrize(("shell", "marker"), [
        ("bash", "complete -o nosort -F _smtpq_completion smtpq"),
        ("zsh", "compdef _smtpq_completion smtpq"),
        ("fish", "complete --no-files --command smtpq"),
    ])
    def test_prints_the_script_for_each_shell(self, shell, marker):
        result = smtpq("completion", shell)
        assert result.exit_code == 0
        assert marker in result.stdout and "_SMTPQ_COMPLETE" in result.stdout

    def test_an_unknown_shell_is_a_usage_error(self):
        assert smtpq("completion", "tcsh").exit_code == 64

    def complete(self, words: str, cword: int) -> list[str]:
        result = run_program(SMTPQ, env={"_SMTPQ_COMPLETE": "bash_complete",
                                         "COMP_WORDS": words, "COMP_CWORD": str(cword)})
        assert result.returncode == 0, result.stderr
        return [line for line in result.stdout.decode().splitlines() if line]

    def test_the_shell_completes_command_names(self, queue: QueueBuilder):
        assert self.complete("smtpq pu", 1) == ["plain,purge"]

    def test_the_shell_completes_options(self, queue: QueueBuilder):
        assert "plain,--older-than" in self.complete("smtpq purge --ol", 2)

    def test_the_shell_completes_message_ids_in_the_right_state(self, queue: QueueBuilder):
        queued, failed = queue.queued(), queue.failed()
        assert self.complete("smtpq retry ", 2) == [f"plain,{failed}"]
        assert self.complete("smtpq show ", 2) == [f"plain,{queued}", f"plain,{failed}"]

    def test_hold_release_and_retry_complete_the_ids_they_take(self, queue: QueueBuilder):
        queued, deferred, failed = queue.queued(), queue.deferred(), queue.failed()
        assert self.complete("smtpq hold ", 2) == [f"plain,{queued}", f"plain,{deferred}"]
        assert self.complete("smtpq retry ", 2) == [f"plain,{deferred}", f"plain,{failed}"]
        assert self.complete("smtpq release ", 2) == []
        assert smtpq("hold", str(queued)).exit_code == 0
        assert self.complete("smtpq release ", 2) == [f"plain,{queued}"]

    def test_retry_account_completes_account_names(self, queue: QueueBuilder, tmp_path):
        rc = tmp_path / ".msmtprc"
        rc.write_text("account work\nhost a\nfrom a@b\naccount home\nhost b\nfrom a@b\n")
        rc.chmod(0o600)
        result = run_program(SMTPQ, env={"_SMTPQ_COMPLETE": "bash_complete",
                                         "COMP_WORDS": "smtpq retry 1 --account w",
                                         "COMP_CWORD": "4", "HOME": str(tmp_path),
                                         "XDG_CONFIG_HOME": str(tmp_path / "none")})
        assert result.stdout.decode().split() == ["plain,work"]

    def test_completing_ids_without_a_queue_completes_nothing_and_creates_nothing(
            self, queue: QueueBuilder):
        assert self.complete("smtpq show ", 2) == []
        assert not os.path.exists(queue.url.removeprefix("sqlite:///"))


class TestErrors:
    """Every failure is ``smtpq: message`` and a sysexits code, never a traceback."""

    def test_unknown_options_and_commands_are_ex_usage(self, queue: QueueBuilder):
        for args in (["list", "--bogus"], ["bogus"], ["--bogus"], ["list", "--status", "lost"]):
            result = run_program(SMTPQ, *args)
            assert result.returncode == 64, args
            assert result.stderr.startswith(b"smtpq: "), result.stderr
            assert b"Traceback" not in result.stderr

    def test_bad_queue_settings_are_ex_config(self, queue: QueueBuilder, tmp_path):
        settings = tmp_path / "smtpq.toml"
        settings.write_text('[queue]\nmax_age = "forever"\n')
        result = run_program(SMTPQ, "list", env={"SMTPQ_CONFIG": str(settings)})
        assert result.returncode == 78
        assert result.stderr.startswith(f"smtpq: {settings}: [queue] max_age: ".encode())

    def test_an_unreadable_database_is_reported_not_raised(self, queue: QueueBuilder, tmp_path):
        garbage = tmp_path / "garbage.sqlite3"
        garbage.write_bytes(b"this is not a database" * 100)
        result = run_program(SMTPQ, "list", env={"SMTPQ_DATABASE": f"sqlite:///{garbage}"})
        assert result.returncode in (73, 74), result.stderr
        assert result.stderr.startswith(b"smtpq: ") and b"Traceback" not in result.stderr

    def test_version(self):
        result = smtpq("--version")
        assert result.exit_code == 0 and result.stdout.startswith("smtpq, version ")


def test_a_command_loads_its_own_module_only():
    # The flush started after every enqueue runs ``smtpq flush``: it need not pay for
    # ``install-units``, ``link``, ``check``… (about 25 ms).
    code = ("import sys\nfrom smtpq.cli.main import cli\n"
            "try:\n    cli.main(['flush', '--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.startswith('smtpq.cli.commands.')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, check=True)
    assert result.stdout.splitlines()[-1] == "['smtpq.cli.commands.flush']"
