"""glibc's ``fnmatch(pattern, text, 0)``, which msmtp uses for wildcard ``from`` addresses.

An emulation of the observable behaviour, checked against the C library itself
(``tests/sender/config/test_config_wildcard.py`` compares thousands of random
patterns through ctypes).  With no flags: ``*`` matches any run including
``/`` and a leading ``.``; ``?`` one character; ``\\`` quotes the next
character (a trailing one matches nothing); ``[…]`` with ``!``/``^``,
ranges, ``[:class:]``, ``[=c=]`` and ``[.c.]`` (single characters only).
glibc's quirks are kept, for instance:

* an unknown class name (``[[:bogus:]]``) or a range running into the end of
  the pattern (``[a-``) makes the whole pattern match nothing;
* an unterminated ``[`` is an ordinary character — but only if nothing in it
  matched the text character first (``[a`` matches the text ``[a`` but not
  ``a``);
* ``[:`` followed by anything but a-y letters and ``:]`` is a plain ``[``.

"Character" follows the locale msmtp runs in.  In the C locale it is a byte
(``?`` does not match ``é``).  In a UTF-8 locale glibc 2.36 accepts a match
either character by character or byte by byte (``?`` and ``??`` both match
``é``, ``??`` not ``€``), and text that is not valid UTF-8 only byte by byte —
all verified with msmtp under ``LC_ALL=C``/``C.UTF-8`` and glibc via ctypes.

Matching is dynamic programming over (pattern position, text position), so it
costs at most len(pattern) × len(text) steps whatever the stars.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

END = "\0"  # what C sees past the end of a string
CHAR_CLASS_MAX_LENGTH = 256
_LITERAL = "literal"  # an unterminated bracket: "[" is an ordinary character

_CLASSES: dict[str, Callable[[str], bool]] = {
    "alpha": str.isalpha, "alnum": str.isalnum, "upper": str.isupper, "lower": str.islower,
    "digit": lambda c: "0" <= c <= "9", "xdigit": lambda c: c in "0123456789abcdefABCDEF",
    "space": str.isspace, "blank": lambda c: c in " \t",
    "cntrl": lambda c: ord(c) < 32 or ord(c) == 127, "print": str.isprintable,
    "graph": lambda c: c.isprintable() and c != " ",
    "punct": lambda c: c.isprintable() and not c.isalnum() and not c.isspace(),
}


def fnmatch(pattern: str, text: str, *, utf8: bool = True) -> bool:
    """C ``fnmatch(pattern, text, 0) == 0`` in a UTF-8 locale, or in the C locale."""
    by_bytes = _Matcher(_bytewise(pattern), _bytewise(text), ascii_only=True)
    if not utf8 or _undecodable(pattern) or _undecodable(text):
        return by_bytes.matches()
    # glibc 2.36 in a UTF-8 locale: a character-wise match, or else a byte-wise one
    # ("??" and "?" both match "é"; verified through ctypes and with msmtp).
    return _Matcher(pattern, text, ascii_only=False).matches() or by_bytes.matches()


def _undecodable(text: str) -> bool:
    return any("\udc80" <= c <= "\udcff" for c in text)


def _bytewise(text: str) -> str:
    """*text* with one character per byte."""
    return text.encode("utf-8", "surrogateescape").decode("latin-1")


class _Matcher:
    """Dynamic programming over (pattern position, text position), text from the end."""

    def __init__(self, pattern: str, text: str, *, ascii_only: bool) -> None:
        self.pattern, self.text, self.ascii_only = pattern, text, ascii_only
        self.step = functools.lru_cache(maxsize=None)(self._step)

    def at(self, i: int) -> str:
        return self.pattern[i] if i < len(self.pattern) else END

    def matches(self) -> bool:
        pattern, size = self.pattern, len(self.pattern)
        # row[p]: does pattern[p:] match text[t:]?  First for t = len(text).
        row = [False] * (size + 1)
        row[size] = True
        for p in range(size - 1, -1, -1):
            row[p] = pattern[p] == "*" and row[p + 1]
        for t in range(len(self.text) - 1, -1, -1):
            later, row = row, [False] * (size + 1)
            for p in range(size - 1, -1, -1):
                if pattern[p] == "*":
                    row[p] = row[p + 1] or later[p]
                else:
                    after = self.step(p, self.text[t])
                    row[p] = after is not None and later[after]
        return row[0]

    def _step(self, p: int, ch: str) -> int | None:
        """Where the pattern continues after element *p* consumed *ch*, or None."""
        c, p = self.pattern[p], p + 1
        if c == "?":
            return p
        if c == "[":
            outcome = _Bracket(self, p, ch).evaluate()
            if outcome != _LITERAL:
                return outcome if isinstance(outcome, int) else None
            # unterminated: the "[" is an ordinary character
        elif c == "\\":
            if p == len(self.pattern):
                return None  # a trailing backslash matches nothing
            c, p = self.pattern[p], p + 1
        return p if ch == c else None

    def in_class(self, name: str, ch: str) -> bool | None:
        test = _CLASSES.get(name)
        if test is None:
            return None
        return test(ch) and (ch.isascii() or not self.ascii_only)


class _Bracket:
    """One ``[…]`` against one text character, the way glibc walks it."""

    def __init__(self, matcher: _Matcher, p: int, ch: str) -> None:
        self.m, self.p, self.ch = matcher, p, ch
        self.negate = matcher.at(p) in "!^"
        if self.negate:
            self.p += 1

    def next(self) -> str:
        c = self.m.at(self.p)
        self.p += 1
        return c

    def evaluate(self) -> int | str | None:
        """The pattern index after the bracket if it matches, None if not, or _LITERAL."""
        c = self.next()
        while True:
            found = self.step(c)
            if found is None or found == _LITERAL:
                return found
            if found is True:
                return None if self.negate else self.skip_rest()
            assert isinstance(found, str)  # step gives True, None, _LITERAL or a character
            c = found
            if c == "]":
                return self.p if self.negate else None

    def step(self, c: str) -> str | bool | None:
        """Handle element *c*: True on a match, else the next character (or None/_LITERAL)."""
        at = self.m.at
        if c == "\\":
            if at(self.p) == END:
                return None
            return self.ordinary(self.next())
        if c == "[" and at(self.p) == ":":
            return self.char_class()
        if c == END:
            return _LITERAL
        if c == "[" and at(self.p) == "=":
            return self.equivalence()
        if c == "[" and at(self.p) == ".":
            symbol = self.collating_symbol()
            return None if symbol is None else self.ordinary(symbol)
        return self.ordinary(c)

    def char_class(self) -> str | bool | None:
        start, name = self.p, ""
        while True:
            if len(name) == CHAR_CLASS_MAX_LENGTH:
                return None
            self.p += 1
            c = self.m.at(self.p)
            if c == ":" and self.m.at(self.p + 1) == "]":
                self.p += 2
                break
            if not "a" <= c < "z":
                self.p = start
                return self.ordinary("[")
            name += c
        verdict = self.m.in_class(name, self.ch)
        if verdict is None:
            return None
        return True if verdict else self.next()

    def equivalence(self) -> str | bool | None:
        """``[=c=]`` (only the character itself); a malformed one is a plain ``[``."""
        at, start = self.m.at, self.p
        c = at(self.p + 1)
        if c == END or at(self.p + 2) != "=" or at(self.p + 3) != "]":
            return self.ordinary("[")
        self.p = start + 4
        return True if c == self.ch else self.next()

    def collating_symbol(self) -> str | None:
        """``[.c.]`` → c (self.p at the ``.``); None for a longer or unterminated name."""
        at = self.m.at
        end = self.p + 1
        while not (at(end) == "." and at(end + 1) == "]"):
            if at(end) == END:
                return None
            end += 1
        name = self.m.pattern[self.p + 1:end]
        self.p = end + 2
        return name if len(name) == 1 else None

    def ordinary(self, c: str) -> str | bool | None:
        """A single character, possibly the start of a range ``c-e``."""
        at = self.m.at
        is_range = at(self.p) == "-" and at(self.p + 1) not in (END, "]")
        if not is_range and c == self.ch:
            return True
        low, c = c, self.next()
        if c == "-" and at(self.p) != "]":
            high = self.next()
            if high == "\\":
                high = self.next()
            elif high == "[" and at(self.p) == ".":
                high = self.collating_symbol() or END
            if high == END:
                return None
            if low <= self.ch <= high:
                return True
            c = self.next()
        return c

    def skip_rest(self) -> int | None:
        """After a match: the index past the closing ``]``, or None (then nothing matches)."""
        at = self.m.at
        while True:
            c = self.next()
            if c == END:
                return None
            if c == "\\":
                if at(self.p) == END:
                    return None
                self.p += 1
                continue
            if c == "[" and at(self.p) in ":=.":
                skipped = self.skip_element(at(self.p))
                if skipped is None:
                    return None
                c = skipped
            if c == "]":
                return self.p

    def skip_element(self, kind: str) -> str | None:
        """Skip ``[:name:]``, ``[=c=]`` or ``[.name.]`` after a match; None if malformed.

        Returns a character that is not ``]`` so that the skipping goes on
        right after the element (or, for a ``[:`` that is no class name, at
        the ``:``).
        """
        at, start = self.m.at, self.p
        if kind == ":":
            for count in range(1, CHAR_CLASS_MAX_LENGTH + 1):
                self.p += 1
                if count == CHAR_CLASS_MAX_LENGTH:
                    return None
                if at(self.p) == ":" and at(self.p + 1) == "]":
                    self.p += 2
                    return kind
                if not "a" <= at(self.p) < "z":
                    self.p = start
                    return kind
        if kind == "=":
            if at(self.p + 1) == END or at(self.p + 2) != "=" or at(self.p + 3) != "]":
                return None
            self.p += 4
            return kind
        end = self.p + 1
        while not (at(end) == "." and at(end + 1) == "]"):
            if at(end) == END:
                return None
            end += 1
        self.p = end + 2
        return kind
