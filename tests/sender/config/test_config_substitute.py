"""``%U %H %C %M`` in ``from`` and ``domain``, and ``auto_from`` (observed with msmtp 1.8.23)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from smtpq.sender.config.substitute import (
    auto_from_address,
    canonical_name,
    expand_domain,
    expand_from,
    host_name,
    user_name,
)
from smtpq.sender.errors import ConfigError


def test_from_knows_user_and_host() -> None:
    assert expand_from("%U@%H.example", {"USER": "joe", "HOSTNAME": "box"}) == "joe@box.example"


def test_domain_does_not_know_user() -> None:
    assert expand_domain("%U.%H", {"USER": "joe", "HOSTNAME": "box"}) == "%U.box"


def test_every_occurrence_is_replaced_and_there_is_no_escape() -> None:
    env = {"USER": "joe"}
    assert expand_from("%U%U", env) == "joejoe"
    assert expand_from("%%U %X %u %h %", env) == "%joe %X %u %h %"


def test_patterns_present_in_the_original_are_replaced_in_the_order_m_u_h_c() -> None:
    # USER=%H is expanded by the later %H replacement ...
    assert expand_from("%U@%H", {"USER": "%H", "HOSTNAME": "box"}) == "box@box"
    assert expand_from("%U %C", {"USER": "%C", "HOSTNAME": "localhost"}) == "localhost localhost"
    # ... but not by an earlier one, nor by one the original text does not contain
    assert expand_from("%U@%H", {"USER": "u", "HOSTNAME": "%U"}) == "u@%U"
    assert expand_from("%H", {"HOSTNAME": "%M"}) == "%M"
    assert expand_from("%U", {"USER": "%C", "HOSTNAME": "localhost"}) == "%C"


def test_user_name_fallbacks_keep_empty_values() -> None:
    assert user_name({"USER": "", "LOGNAME": "lg"}) == ""
    assert user_name({"LOGNAME": "lg"}) == "lg"
    assert user_name({}) != ""


def test_host_name_fallback() -> None:
    assert host_name({"HOSTNAME": ""}) == ""
    assert host_name({}) == socket.gethostname()


def test_canonical_name_falls_back_to_the_host_name() -> None:
    assert canonical_name({"HOSTNAME": "nonexistent.invalid"}) == "nonexistent.invalid"
    assert canonical_name({"HOSTNAME": "127.0.0.1"}) == "127.0.0.1"
    assert canonical_name({"HOSTNAME": ""}) == ""


def test_patterns_are_only_evaluated_when_present(tmp_path: Path) -> None:
    env = {"SMTPQ_MAILNAME": str(tmp_path / "missing")}
    assert expand_from("plain@example.org", env) == "plain@example.org"


class TestMailname:
    def mailname(self, tmp_path: Path, content: bytes) -> dict[str, str]:
        path = tmp_path / "mailname"
        path.write_bytes(content)
        return {"SMTPQ_MAILNAME": str(path)}

    @pytest.mark.parametrize("content, value", [
        (b"mail.example\n", "mail.example"), (b"mail.example", "mail.example"),
        (b"mail.example\r\n", "mail.example"), (b"  sp  \nsecond\n", "  sp  "),
        (b"a\r\r\n", "a?"), (b"a\rb\n", "a?b"),
    ])
    def test_first_line(self, tmp_path: Path, content: bytes, value: str) -> None:
        env = self.mailname(tmp_path, content)
        assert expand_domain("%M", env) == value
        assert expand_from("x@%M", env) == "x@" + value

    @pytest.mark.parametrize("content", [b"", b"\n", b"\r\n"])
    def test_empty_is_invalid(self, tmp_path: Path, content: bytes) -> None:
        env = self.mailname(tmp_path, content)
        with pytest.raises(ConfigError, match=r"mailname: Invalid argument$"):
            expand_domain("%M", env)

    def test_missing(self, tmp_path: Path) -> None:
        env = {"SMTPQ_MAILNAME": str(tmp_path / "mailname")}
        with pytest.raises(ConfigError) as info:
            expand_from("%M", env)
        assert info.value.message == f"{tmp_path}/mailname: No such file or directory"
        assert info.value.exit_code == 78

    def test_not_expanded_unless_the_original_has_the_pattern(self, tmp_path: Path) -> None:
        env = self.mailname(tmp_path, b"%U.%H.%C\n") | {"USER": "u", "HOSTNAME": "h"}
        assert expand_from("%M", env) == "%U.%H.%C"
        env = self.mailname(tmp_path, b"%U\n") | {"USER": "u", "HOSTNAME": "%M"}
        assert expand_from("%M %U", env) == "u u"
        assert expand_from("%M %H", env) == "%U %M"
        assert expand_domain("%M %H", env) == "%U %M"


class TestAutoFrom:
    def test_user_at_maildomain(self) -> None:
        assert auto_from_address("example.com", {"USER": "joe"}) == "joe@example.com"

    def test_without_maildomain_just_the_user(self) -> None:
        assert auto_from_address(None, {"USER": "joe"}) == "joe"
        assert auto_from_address("", {"USER": "joe"}) == "joe"

    def test_maildomain_is_not_substituted(self) -> None:
        assert auto_from_address("%H", {"USER": "joe", "HOSTNAME": "box"}) == "joe@%H"
