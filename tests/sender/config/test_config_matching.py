"""How ``-f ADDR`` picks an account by its ``from`` (observed with msmtp 1.8.23)."""

from __future__ import annotations

import pytest

from smtpq.sender.config.matching import (
    find_by_envelope_from,
    fnmatch,
    from_matches,
    locale_is_utf8,
)
from smtpq.sender.config.settings import Account


@pytest.mark.parametrize("account_from, address", [
    ("a@x", "A@X"),                      # case-insensitive equality
    ("A@x", "a+tag@X"),                  # sub-address stripped
    ("a@b", "a+x+y@b"),
    ("a@b", "a+@b"),
    ("@b", "+x@b"),
    ("a@b@c", "a+x@b@c"),                # up to the first @
    ("x@", "X+@"),
    ("a+x@B", "A+X@b"),                  # account with +: plain equality
    ("*+*@b", "a+x@b"),                  # account with +: wildcard branch
    ("*@wild.example", "y@wild.example"),
    ("[ab]@wild", "a@wild"),
    ("?@wild", "a@wild"),
    ("*/x@w", "a/b/x@w"),                # * matches /
    ("*@w", ".a@w"),                     # and a leading dot
    ("[!a]@w", "b@w"),
    ("[^a]@w", "b@w"),
    ("[[:alpha:]]@w", "q@w"),
    ("[a-c]@w", "b@w"),
    ("[]]@w", "]@w"),
    ("[a-c@w", "[a-c@w"),                # unclosed bracket is literal
    ("\\*@w", "*@w"),                    # backslash escapes
    ("*", "x+y"),                        # no @: no sub-address rule
    ("", ""),
])
def test_matches(account_from: str, address: str) -> None:
    assert from_matches(account_from, address)


@pytest.mark.parametrize("account_from, address", [
    ("*@wild.example", "y+tag@wild.example"),  # sub-address skips the wildcard branch
    ("*", "x+y@w"),
    ("*@wild.example", "y@WILD.example"),      # patterns are case-sensitive
    ("a@w?ld", "A@wild"),
    ("a+x@b", "a+y@b"),
    ("a@b", "+x@b"),
    ("a@b", "a+x"),
    ("a", "a+x"),
    ("x", "x+y@"),
    ("a@b", "a@b+c"),                          # + after the @ is not a sub-address
    ("x@y@w", "x@y+z@w"),
    ("a@b", "a+x@b@c"),
    ("\\*@w", "x@w"),
    ("[a-c@w", "[A-c@w"),
    ("%U@x", "root@x"),                        # the raw from, before substitution
    ("<>", ""),
])
def test_does_not_match(account_from: str, address: str) -> None:
    assert not from_matches(account_from, address)


def test_strcasecmp_folds_ascii_only() -> None:
    assert not from_matches("é@x", "É@x")


def test_reversed_range_matches_nothing() -> None:
    assert not fnmatch("[z-a]", "b")


def test_first_account_in_order_wins_and_accounts_without_from_are_skipped() -> None:
    accounts = [Account(name="none"), Account(name="a", from_="a@b"),
                Account(name="b", from_="A@B"), Account(name="w", from_="*@b")]
    assert find_by_envelope_from(accounts, "a@B").name == "a"
    assert find_by_envelope_from(accounts, "z@b").name == "w"
    assert find_by_envelope_from(accounts, "z@c") is None


def test_patterns_match_characters_in_utf8_and_bytes_in_the_c_locale() -> None:
    assert fnmatch("?@x", "\u00e9@x", utf8=True)
    assert not fnmatch("?@x", "\u00e9@x", utf8=False)
    assert fnmatch("??@x", "\u00e9@x", utf8=False)


@pytest.mark.parametrize("env, utf8", [
    ({}, False), ({"LANG": "C"}, False), ({"LANG": "C.UTF-8"}, True),
    ({"LANG": "en_US.utf8"}, True), ({"LANG": "de_DE.UTF-8@euro"}, True),
    ({"LANG": "C.UTF-8", "LC_ALL": "C"}, False), ({"LC_CTYPE": "C.UTF-8", "LANG": "C"}, True),
    ({"LC_ALL": "", "LANG": "C.UTF-8"}, True),
])
def test_locale_detection(env: dict[str, str], utf8: bool) -> None:
    assert locale_is_utf8(env) is utf8
