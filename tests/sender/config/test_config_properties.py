"""Whatever bytes a configuration file holds, smtpq answers with accounts or a clean error.

Hypothesis feeds arbitrary text and bytes (and msmtprc-shaped lines built from
the real command names) to the parser, the file loader and the account
choice.  The only acceptable exceptions are ``SmtpqError`` subclasses.
``eval`` is answered by a fake so that no generated text ever reaches a shell.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smtpq.sender.config.choose import resolve_account
from smtpq.sender.config.commands import COMMANDS
from smtpq.sender.config.files import load_config
from smtpq.sender.config.parser import ParsedFile, parse_config
from smtpq.sender.config.settings import Account
from smtpq.sender.config.show import pretend_lines
from smtpq.sender.errors import SmtpqError

ENV = {"HOME": "/home/tester", "USER": "tester", "HOSTNAME": "localhost",
       "SMTPQ_SYSTEM_CONFIG": "/nonexistent/msmtprc", "SMTPQ_MAILNAME": "/nonexistent/mailname"}


def fake_eval(command: str) -> str | None:
    """Deterministic stand-in for a shell: sometimes silent, else echoes a variant."""
    if len(command) % 3 == 0:
        return None
    return command[::-1] if len(command) % 3 == 1 else command


def parse(data: bytes) -> ParsedFile | SmtpqError:
    try:
        return parse_config(data, "FILE", env=ENV, evaluator=fake_eval)
    except SmtpqError as error:
        return error


WORDS = sorted(COMMANDS) + ["account", "defaults", "eval", "bogus", "#"]
ARGUMENTS = st.one_of(
    st.sampled_from(["", "on", "off", "auto", "a", "a : b", "default", "0x19", "25", "never",
                     "failure,delay", "headers", "LOG_MAIL", "~/x", '"q"', "%U@%H", "*@x",
                     ":".join(["0f"] * 20), "a, b", ":"]),
    st.text(max_size=30),
)
LINES = st.builds(lambda ws, cmd, sep, arg, end: f"{ws}{cmd}{sep}{arg}{end}",
                  st.sampled_from(["", " ", "\t"]), st.sampled_from(WORDS),
                  st.sampled_from([" ", "\t", "  "]), ARGUMENTS,
                  st.sampled_from(["\n", "\r\n", "\r\r\n"]))
MSMTPRC = st.lists(LINES, max_size=25).map("".join)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_any_bytes_parse_or_fail_cleanly(data: bytes) -> None:
    parse(data)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=1500))
def test_any_text_parses_or_fails_cleanly(text: str) -> None:
    parse(text.encode("utf-8", "surrogatepass"))


@settings(max_examples=400, deadline=None)
@given(MSMTPRC, st.one_of(st.none(), st.sampled_from(["a", "b", "default"])),
       st.one_of(st.none(), st.text(max_size=20)), st.booleans())
def test_msmtprc_shaped_files_resolve_or_fail_cleanly(
    text: str, name: str | None, envelope_from: str | None, pretend: bool,
) -> None:
    parsed = parse(text.encode("utf-8", "surrogatepass"))
    if isinstance(parsed, SmtpqError):
        assert parsed.message and parsed.exit_code in (74, 78)
        return
    from smtpq.sender.config.files import LoadedConfig

    config = LoadedConfig(accounts=parsed.accounts, user_file="FILE")
    try:
        result = resolve_account(config, account_name=name, host=None,
                                 envelope_from=envelope_from, overrides=Account(), env=ENV,
                                 pretend=pretend)
    except SmtpqError as error:
        assert error.exit_code == 78
        return
    assert all(" = " in line for line in pretend_lines(result.account))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=1200))
def test_loading_a_file_of_any_bytes_fails_cleanly(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "rc"
        path.write_bytes(data)
        try:
            config = load_config(str(path), env=ENV | {"HOME": directory}, euid=0,
                                 evaluator=fake_eval)
        except SmtpqError:
            return
        assert config.user_file == str(path)
