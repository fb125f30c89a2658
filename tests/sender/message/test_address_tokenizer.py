"""The hand-written address tokenizer splits text exactly as the regular expression it replaced.

The tokenizer used to be one ``re`` pattern; compiling it cost every enqueue
half a millisecond, so it is now written out (docs/performance.md).  The old
pattern is kept here as the specification: for any text, both give the same
tokens, or the same error.
"""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from smtpq.sender.errors import InvalidAddress
from smtpq.sender.message import addresses
from smtpq.sender.message.addresses import _skip_comment, _tokenize

_ATOM = r'[^\x00-\x20\x7f()<>\[\]:;@\\,."]+'
_TOKEN_RE = re.compile(
    r"(?P<ws>[ \t]+)"
    rf"|(?P<atom>{_ATOM})"
    r'|(?P<qs>"(?:[^"\\]|\\.)*")'
    r"|(?P<dl>\[(?:[^\[\]\\]|\\.)*\])"
    r"|(?P<special>[<>,:;@.])"
    r"|(?P<open>\()",
    re.DOTALL,
)
_UNTERMINATED = {'"': "unterminated quoted string", "[": "unterminated domain literal"}


def regex_tokenize(text: str) -> list[tuple[str, str]]:
    """The former tokenizer, verbatim but for returning (kind, text) pairs."""
    tokens = []
    pos, end = 0, len(text)
    while pos < end:
        match = _TOKEN_RE.match(text, pos)
        if match is None:
            raise InvalidAddress(_UNTERMINATED.get(text[pos], f"unexpected character {text[pos]!r}"))
        kind = match.lastgroup
        if kind == "open":
            pos = _skip_comment(text, pos)
            continue
        if kind == "special":
            tokens.append((match.group(), match.group()))
        elif kind != "ws":
            tokens.append((kind or "", match.group()))
        pos = match.end()
    return tokens


def outcome(tokenize, text: str) -> object:  # type: ignore[no-untyped-def]
    try:
        result = tokenize(text)
    except InvalidAddress as error:
        return ("error", str(error))
    return [(t.kind, t.text) if hasattr(t, "kind") else t for t in result]


EXAMPLES = [
    "rcpt@example.test", "Jo Doe <j@x.test>, \"q u\"@x", "a@[127.0.0.1]", "a@[1[2]",
    '"unterminated', "[open", 'x"\\', '"a\\"b"@c', "(comment (nested)) a@b", "a\\b",
    "a)b", "]", "\x01", "a\x7fb", "grp: a@b, c@d;", "é@ü.example", "a\tb", '"\\', "[\\",
    "[a\\]]", "<>", "@@", "(unterminated",
]


def test_examples_tokenize_as_before():
    for text in EXAMPLES:
        assert outcome(_tokenize, text) == outcome(regex_tokenize, text), text


@settings(max_examples=1000, deadline=None)
@given(st.text(alphabet=st.sampled_from(list('ab @.<>,:;"[]()\\\t\x01\x7fé') + ["\x00"]),
               max_size=24))
def test_any_text_tokenizes_as_before(text: str):
    assert outcome(_tokenize, text) == outcome(regex_tokenize, text)


def test_sanitize_replaces_controls_as_before():
    text = "a\x00b\x1fc\x7fd\te\u0085"
    assert addresses.sanitize(text) == re.sub(r"[\x00-\x1f\x7f]", "?", text)
