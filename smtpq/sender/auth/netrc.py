"""netrc lookup with the semantics of msmtp's parser (fetchmail's ``netrc.c``), see ftp(1).

Why not the standard library's ``netrc`` module: it keeps only the last entry per
machine (so ``alice`` and ``bob`` at one host cannot coexist), raises on syntax it
does not know, and checks file permissions; msmtp does none of that.  Here, as in
msmtp 1.8.23 (observed):

* tokens are separated by white space; ``'`` or ``"`` quote a token; a ``#`` where
  a token starts ends the line;
* ``machine``, ``login``/``user``, ``password``/``passwd``, ``account`` and
  ``macdef`` (whose body runs to the next empty line) are keywords; ``default``
  entries never match;
* the first entry, in file order, whose machine equals the host and whose login
  equals the user (both exactly) gives the password.  (msmtp crashes on a
  matching entry without a password; we skip such an entry.)
"""

from __future__ import annotations

import os

from smtpq.sender.record import Record

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (import cost)
if TYPE_CHECKING:
    from collections.abc import Iterator

_KEYWORDS = {
    "machine": "machine", "login": "login", "user": "login", "password": "password",
    "passwd": "password", "account": "account",
}


class NetrcEntry(Record):
    """One ``machine`` or ``default`` entry.

    A record, not a dataclass (import cost: smtpq.sender.record).
    """

    __slots__ = ("login", "machine", "password")
    FIELDS = ("machine", "login", "password")
    REPR_HIDDEN = frozenset({"password"})

    def __init__(self, machine: str | None = None, login: str | None = None,
                 password: str | None = None) -> None:
        self.machine = machine  # None for a ``default`` entry
        self.login = login
        self.password = password


def lookup(path: str | os.PathLike[str], host: str, user: str) -> str | None:
    """The password for *user* at *host* in the netrc file *path*, or None."""
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as file:
            text = file.read()
    except OSError:
        return None
    for entry in parse(text):
        if entry.machine == host and entry.login == user and entry.password is not None:
            return entry.password
    return None


def parse(text: str) -> list[NetrcEntry]:
    """All entries that name a login, in file order."""
    parser = _Parser()
    for line in text.splitlines():
        parser.feed_line(line.rstrip())
    return [entry for entry in parser.entries if entry.login is not None]


class _Parser:
    def __init__(self) -> None:
        self.entries: list[NetrcEntry] = []
        self.current: NetrcEntry | None = None
        self.pending: str | None = None  # the keyword whose value comes next
        self.in_macro = False

    def feed_line(self, line: str) -> None:
        if self.in_macro:
            self.in_macro = bool(line)  # a macro body ends at an empty line
            return
        for token in _line_tokens(line):
            self.feed_token(token)
            if self.in_macro:
                return  # the rest of a macdef line is the macro's name

    def feed_token(self, token: str) -> None:
        keyword, self.pending = self.pending, None
        if keyword == "machine":
            self.current = NetrcEntry(machine=token)
            self.entries.append(self.current)
        elif keyword in ("login", "password"):
            if self.current is not None:
                setattr(self.current, keyword, token)
        elif keyword is not None:
            pass  # the value of "account"
        elif token == "default":
            self.current = NetrcEntry()
            self.entries.append(self.current)
        elif token == "macdef":
            self.in_macro = True
        else:
            self.pending = _KEYWORDS.get(token)


def _line_tokens(line: str) -> Iterator[str]:
    pos, end = 0, len(line)
    while pos < end:
        while pos < end and line[pos].isspace():
            pos += 1
        if pos >= end or line[pos] == "#":
            return
        token: list[str] = []
        quote = ""
        while pos < end and (quote or not line[pos].isspace()):
            char = line[pos]
            if quote and char == quote:
                quote = ""
            elif not quote and char in "\"'":
                quote = char
            else:
                token.append(char)
            pos += 1
        yield "".join(token)
