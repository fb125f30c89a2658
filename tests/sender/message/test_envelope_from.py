"""The envelope-from: auto_from > -f/--read-envelope-from > account from > error (§5.4)."""

from __future__ import annotations

import os
import pwd

import pytest

from smtpq.sender.errors import ConfigError, DataError
from smtpq.sender.message.envelope import (
    auto_from_address,
    choose_envelope_from,
    login_name,
    normalize_envelope_from,
)
from smtpq.sender.sysexits import ExitCode


def test_the_account_from_is_the_default() -> None:
    assert choose_envelope_from(account_from="acct@example.org") == "acct@example.org"


def test_dash_f_overrides_the_account() -> None:
    assert choose_envelope_from(account_from="acct@x", from_arg="arg@x") == "arg@x"


def test_allow_from_override_off_ignores_dash_f() -> None:
    chosen = choose_envelope_from(
        account_from="acct@x", from_arg="arg@x", allow_from_override=False
    )
    assert chosen == "acct@x"


def test_auto_from_wins_over_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("USER", "joe")
    chosen = choose_envelope_from(
        account_from="acct@x", from_arg="arg@x", auto_from=True, maildomain="example.org"
    )
    assert chosen == "joe@example.org"


def test_auto_from_without_maildomain_has_no_domain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("USER", "joe")
    assert auto_from_address(None) == "joe"
    assert auto_from_address("") == "joe"


def test_nothing_set_is_a_config_error_with_msmtps_text() -> None:
    with pytest.raises(ConfigError) as info:
        choose_envelope_from(account_from=None)
    assert info.value.message == "envelope-from address is missing"
    assert info.value.exit_code == ExitCode.EX_CONFIG


def test_dash_f_alone_is_enough() -> None:
    assert choose_envelope_from(account_from=None, from_arg="arg@x") == "arg@x"


@pytest.mark.parametrize("null", ["<>", "", " <> "])
def test_null_sender(null: str) -> None:
    assert choose_envelope_from(account_from="acct@x", from_arg=null) == ""


def test_an_address_with_display_name_gives_its_addr_spec() -> None:
    # msmtp would send MAIL FROM:<Jo <a@x>>
    assert normalize_envelope_from("Jo <a@x>") == "a@x"


def test_local_and_wildcard_froms_pass() -> None:
    assert normalize_envelope_from("joe") == "joe"
    assert normalize_envelope_from("*@wild.example") == "*@wild.example"


@pytest.mark.parametrize(
    "bad", ["a@x\r\nRCPT TO:<evil@x>", "a@x> SIZE=1", "a@x, b@x", "two words@x"]
)
def test_nothing_can_be_smuggled_into_mail_from(bad: str) -> None:
    with pytest.raises(DataError, match="^invalid envelope-from address"):
        choose_envelope_from(account_from=None, from_arg=bad)


def test_login_name_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("USER", "u")
    monkeypatch.setenv("LOGNAME", "l")
    assert login_name() == "u"
    monkeypatch.delenv("USER")
    assert login_name() == "l"
    monkeypatch.delenv("LOGNAME")
    assert login_name() == pwd.getpwuid(os.getuid()).pw_name
