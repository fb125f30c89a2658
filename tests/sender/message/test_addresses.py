"""RFC 5322 address lists, as ``-t`` and command-line recipients need them.

The parser returns addr-specs only, in order.  It follows RFC 5322 §3.4 and the
obsolete syntax of §4.4, is lenient where msmtp is lenient and the intent is
clear, and refuses (DataError, exit 65) anything that could reach an SMTP
command unsafely.
"""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smtpq.sender.errors import DataError, UsageError
from smtpq.sender.message.addresses import (
    MAX_ADDRESS_OCTETS,
    parse_address_list,
    parse_single_address,
    sanitize,
)
from smtpq.sender.sysexits import ExitCode


def addrs(text: str) -> list[str]:
    return parse_address_list(text)


def invalid(text: str) -> str:
    with pytest.raises(DataError) as info:
        parse_address_list(text)
    assert info.value.exit_code == ExitCode.EX_DATAERR
    return info.value.message


# -- the reference's -t example (msmtp-1.8.23.md §5.3) ---------------------------

def test_display_names_with_quoted_commas_and_comments() -> None:
    text = ('"Doe, John" <john@example.net>, plain@example.net (a comment),'
            "\tcontinued@example.net")
    assert addrs(text) == ["john@example.net", "plain@example.net", "continued@example.net"]


def test_groups_and_empty_groups() -> None:
    text = 'Friends: f1@example.net, "F Two" <f2@example.net>;, nobody-group:;'
    assert addrs(text) == ["f1@example.net", "f2@example.net"]


# -- command-line arguments go through the same parser ---------------------------

@pytest.mark.parametrize(
    ("arg", "expected"),
    [
        ("John <j@x>", ["j@x"]),
        ("a@x, b@y", ["a@x", "b@y"]),
        ("", []),
        ("root", ["root"]),  # local names are recipients (aliases, local delivery)
        ("c@x; d@y", ["c@x", "d@y"]),  # ';' separates outside groups, as in msmtp
    ],
)
def test_command_line_style_arguments(arg: str, expected: list[str]) -> None:
    assert addrs(arg) == expected


# -- RFC 5322 §3.4 syntax ---------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a@example.org", ["a@example.org"]),
        ("<a@example.org>", ["a@example.org"]),
        ("Alice <a@example.org>", ["a@example.org"]),
        ('"Alice A." <a@example.org>', ["a@example.org"]),
        ("John Q. Public <jqp@example.org>", ["jqp@example.org"]),  # obs-phrase
        ('"q u"@x', ['"q u"@x']),  # quoted local part stays quoted
        ('"a\\"b"@x', ['"a\\"b"@x']),  # quoted-pair kept as written
        ("a@[192.0.2.1]", ["a@[192.0.2.1]"]),  # domain-literal
        ("jörg@bücher.example", ["jörg@bücher.example"]),  # RFC 6532
        ("x@y,,z@y", ["x@y", "z@y"]),  # obs-addr-list empty elements
        (" , ", []),
        ("(only a comment)", []),
        ("<>", []),  # an empty angle address is no recipient
        ('"Undisclosed", a@x', ["a@x"]),  # a lone quoted string is a name, no address
    ],
)
def test_addr_spec_forms(text: str, expected: list[str]) -> None:
    assert addrs(text) == expected


def test_comments_nest_and_may_hold_specials() -> None:
    assert addrs("((nested (deep)) c, d: <e>) a@b") == ["a@b"]
    assert addrs("a(x)@(y)b") == ["a@b"]


def test_backslash_escapes_inside_comments_and_quotes() -> None:
    assert addrs(r'"a \) \" b" <x@y> (c \( d)') == ["x@y"]


def test_cfws_around_dots_and_at_is_obsolete_but_accepted() -> None:
    assert addrs("x (comm) @ y . z") == ["x@y.z"]
    assert addrs("john . doe@example.org") == ["john.doe@example.org"]


def test_obsolete_route_is_dropped() -> None:
    assert addrs("<@relay1,@relay2:user@example.org>") == ["user@example.org"]


def test_group_without_closing_semicolon_at_the_end() -> None:
    assert addrs("undisclosed-recipients:") == []
    assert addrs("team: a@x, b@x") == ["a@x", "b@x"]


def test_display_name_that_looks_like_an_address() -> None:
    # Outlook writes "a@b <a@b>"; the angle address is the address.
    assert addrs("foo@bar.com <foo@bar.com>") == ["foo@bar.com"]


def test_folded_values_are_parsed_after_unfolding() -> None:
    assert addrs("a@x,\t b@y, \t\tc@z") == ["a@x", "b@y", "c@z"]


def test_order_and_duplicates_are_kept() -> None:
    assert addrs("b@x, a@x, b@x") == ["b@x", "a@x", "b@x"]


# -- what is refused ----------------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("john doe@x", "unexpected 'doe'"),
        ("a@", "invalid domain"),
        ("@x", "missing local part"),
        ('"abc', "unterminated quoted string"),
        ("(abc", "unterminated comment"),
        ("[abc", "unterminated domain literal"),
        ("<a@x", "missing '>'"),
        ("a@x>", "unexpected '>'"),
        ("a@x <b@y> c", "unexpected 'c'"),
        ("g: h: a@x;;", "nested group"),
        ("a\\b@x", "unexpected character '\\\\'"),
        ("a@x..y", "invalid domain"),
    ],
)
def test_malformed_lists_are_data_errors(text: str, reason: str) -> None:
    assert invalid(text).endswith(reason)


@pytest.mark.parametrize("bad", ["\r", "\n", "\0", "\r\n"])
def test_line_breaks_and_nul_never_reach_an_smtp_command(bad: str) -> None:
    message = invalid(f"a@x{bad}RCPT TO:<evil@example.org>")
    assert "contains a line break or NUL" in message
    assert "\r" not in message and "\n" not in message


@pytest.mark.parametrize("control", ["\x01", "\x1b", "\x7f", "\t"])
def test_control_characters_inside_an_address_are_refused(control: str) -> None:
    assert "control character" in invalid(f'"a{control}b"@x')


def test_control_characters_in_display_names_are_harmless() -> None:
    assert addrs('"bell\x07" <a@x>') == ["a@x"]


def test_addresses_longer_than_a_line_are_refused() -> None:
    longest = "l" * (MAX_ADDRESS_OCTETS - 2) + "@x"
    assert addrs(longest) == [longest]
    assert "longer than 998 octets" in invalid("l" + longest)


def test_local_parts_longer_than_rfc5321_limits_still_pass() -> None:
    # RFC 5321 §4.5.3.1.1 says 64, but servers accept more and msmtp sends them.
    local = "x" * 100
    assert addrs(f"{local}@example.org") == [f"{local}@example.org"]


def test_undecodable_bytes_in_an_address_are_refused() -> None:
    raw = b"j\xf6rg@example.org".decode("utf-8", "surrogateescape")
    assert "not valid UTF-8" in invalid(raw)


def test_undecodable_bytes_in_a_display_name_are_harmless() -> None:
    raw = b"J\xf6rg <j@example.org>".decode("utf-8", "surrogateescape")
    assert addrs(raw) == ["j@example.org"]


def test_error_messages_name_the_source() -> None:
    with pytest.raises(DataError, match=r"^invalid recipient 'a@': invalid domain$"):
        parse_address_list("a@", what="recipient")


def test_parse_single_address() -> None:
    assert parse_single_address("Jo <j@x>") == "j@x"
    with pytest.raises(DataError, match="exactly one address"):
        parse_single_address("a@x, b@x")


def test_sanitize_makes_text_printable_and_short() -> None:
    assert sanitize("a\r\nb\x00") == "a??b?"
    assert sanitize("x" * 300).endswith("...")


# -- property: arbitrary text never escapes as anything but a sendmail error --------

@given(st.text(max_size=200))
def test_any_text_parses_or_is_a_data_error(text: str) -> None:
    try:
        found = parse_address_list(text)
    except (DataError, UsageError):
        return
    for address in found:
        assert address and not any(c in address for c in "\r\n\0\t")


@given(st.text(alphabet=st.sampled_from(list('a@b.c<>(),:;"\\[] \t')), max_size=60))
def test_any_specials_soup_parses_or_is_a_data_error(text: str) -> None:
    with contextlib.suppress(DataError):
        parse_address_list(text)
