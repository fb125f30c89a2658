"""glibc ``fnmatch(pattern, text, 0)`` as msmtp uses it for wildcard ``from`` addresses.

Most expectations come from the C library itself: the last test compares
thousands of random patterns with glibc's ``fnmatch`` through ctypes.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import locale
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smtpq.sender.config.wildcard import fnmatch
from tests.support.programs import needs


@pytest.mark.parametrize("pattern, text", [
    ("*", ""), ("*", "a/b"), ("*", ".hidden"), ("a*b", "ab"), ("a*b", "axxb"), ("?", "é"),
    ("[abc]", "b"), ("[!abc]", "d"), ("[^abc]", "d"), ("[a-c]", "b"), ("[]]", "]"),
    ("[]a]", "a"), ("[!]]", "a"), ("[a-]", "-"), ("[-a]", "-"), ("[[:digit:]]", "7"),
    ("[[:alpha:][:digit:]]", "x"), ("[[:upper:]]", "Q"), ("[[:space:]]", " "),
    ("[[:punct:]]", "!"), ("[[:xdigit:]]", "f"), ("\\*", "*"), ("\\?", "?"), ("[\\]]", "]"),
    ("[", "["), ("[a", "[a"), ("[[]", "["), ("*[", "x["), ("**", "abc"), ("[:bogus:]", "g"),
    ("[[=a=]]", "a"), ("[[.a.]]", "a"), ("[[.a.]-c]", "b"), ("[[:alpha]", "["),
    ("*@*.example", "joe@mail.example"),
])
def test_matches(pattern: str, text: str) -> None:
    assert fnmatch(pattern, text)


@pytest.mark.parametrize("pattern, text", [
    ("?", ""), ("a*b", "axxc"), ("[abc]", "d"), ("[!abc]", "a"), ("[a-c]", "B"), ("[z-a]", "b"),
    ("\\*", "x"), ("[[:digit:]]", "x"), ("[!]]", "]"), ("A", "a"), ("*@x", "a@X"),
    ("[[:alpha:]]", "1"), ("a\\", "a"), ("a\\", "a\\"), ("*\\", "a\\"), ("\\", ""),
    ("[[:bogus:]]", "b"),    # an unknown class makes the whole pattern fail
    ("[a-", "[a-"),          # so does a range running into the end
    ("[a", "a"),             # unterminated: "[" is literal only if nothing matched
    ("[[:alpha:]x", "[[:alpha:]x"),
    ("[[.ab.]]", "a"),
])
def test_does_not_match(pattern: str, text: str) -> None:
    assert not fnmatch(pattern, text)


def test_c_locale_works_on_bytes() -> None:
    assert not fnmatch("?", "é", utf8=False)
    assert fnmatch("??", "é", utf8=False)
    assert not fnmatch("[[:alpha:]]", "é", utf8=False)


def test_utf8_locale_accepts_characters_or_bytes_like_glibc_2_36() -> None:
    assert fnmatch("?", "é") and fnmatch("??", "é")
    assert fnmatch("?", "€") and fnmatch("???", "€") and not fnmatch("??", "€")
    assert fnmatch("[[:alpha:]]", "é")


def test_undecodable_text_is_matched_by_bytes() -> None:
    raw = b"\xff".decode("utf-8", "surrogateescape")
    assert fnmatch("*", raw) and fnmatch("?", raw)


def test_no_catastrophic_backtracking() -> None:
    started = time.monotonic()
    assert not fnmatch("*a" * 30 + "*b", "a" * 2000)
    assert time.monotonic() - started < 5


# --- the same answers as glibc's own fnmatch(), which msmtp calls

def _libc_fnmatch():
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        libc.gnu_get_libc_version  # noqa: B018 - glibc only
    except (OSError, AttributeError, TypeError):
        return None
    libc.fnmatch.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int]
    return libc.fnmatch


LIBC_FNMATCH = _libc_fnmatch()
PATTERN_PIECES = st.sampled_from([
    "a", "b", "z", "A", "1", "é", "@", ":", ".", "=", "*", "?", "[", "]", "!", "^", "-", "\\",
    "[:alpha:]", "[:digit:]", "[:upper:]", "[:bogus:]", "[=a=]", "[.a.]", "[.", "[=", ".]", "=]",
])
TEXT = st.text(alphabet="abzA1é@:.=*?[]!^-\\", max_size=8)


def _ctype_is_utf8() -> bool:
    return locale.nl_langinfo(locale.CODESET).replace("-", "").lower() == "utf8"


@settings(max_examples=5000, deadline=None)
@given(st.lists(PATTERN_PIECES, max_size=9).map("".join), TEXT)
def test_agrees_with_glibc(pattern: str, text: str) -> None:
    needs(LIBC_FNMATCH is not None, "needs glibc's fnmatch")
    expected = LIBC_FNMATCH(pattern.encode(), text.encode(), 0) == 0
    assert fnmatch(pattern, text, utf8=_ctype_is_utf8()) is expected
