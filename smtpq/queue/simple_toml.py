"""A reader for the plain subset of TOML a ``config.toml`` is normally written in.

``import tomllib`` and the regular expressions it compiles cost about 5 ms,
a third of the whole enqueue budget, and the sendmail entry reads the queue
settings for every mail.  Settings files are plain ``key = value`` lines, so
this reader takes exactly that and gives up on anything else:

* blank lines and ``#`` comments; LF or CRLF line ends;
* ``[table]`` headers with a bare name (``A-Za-z0-9_-``), each at most once;
* ``key = value`` with a bare key, at most once per table, where the value is
  a basic string without escapes (``"…"``), a literal string (``'…'``), a
  decimal integer without sign, underscores or leading zeros, or
  ``true``/``false``; a ``#`` comment may follow.

Whatever it does not recognise, or recognises as wrong (control characters,
a key or table defined twice, bytes that are not UTF-8), makes it return
None: the caller then asks ``tomllib``, which either reads it or reports the
error exactly as before.  Within the subset the result is what ``tomllib``
returns (tests/queue/test_queue_simple_toml.py compares the two).
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (import cost)
if TYPE_CHECKING:
    from typing import Any

_BLANKS = " \t"
_BARE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
#: TOML forbids these anywhere (tab aside); they make the reader give up.
_CONTROL = frozenset(chr(code) for code in (*range(0x20), 0x7F)) - {"\t", "\n"}

#: Returned by the value readers for "not in the subset".
_UNKNOWN = object()


def parse_simple(data: bytes) -> dict[str, Any] | None:
    """The document *data* holds, or None if it is not plain enough (ask ``tomllib``)."""
    try:
        text = data.decode("utf-8").replace("\r\n", "\n")
    except UnicodeDecodeError:
        return None
    if not _CONTROL.isdisjoint(text):  # including a CR that is not part of CRLF
        return None
    document: dict[str, Any] = {}
    table = document
    for raw in text.split("\n"):
        line = raw.strip(_BLANKS)
        if not line or line[0] == "#":
            continue
        if line[0] == "[":
            name = _table_name(line)
            if name is None or name in document:
                return None
            table = document[name] = {}
        elif not _read_pair(line, table):
            return None
    return document


def _table_name(line: str) -> str | None:
    """``[ name ]`` (and an optional comment) → ``name``; None for anything else."""
    end = line.find("]")
    if line.startswith("[[") or end == -1 or not _ends_line(line[end + 1:]):
        return None
    name = line[1:end].strip(_BLANKS)
    return name if _is_bare(name) else None


def _read_pair(line: str, table: dict[str, Any]) -> bool:
    """Store ``key = value`` in *table*; False when the line is outside the subset."""
    key, equals, rest = line.partition("=")
    key = key.rstrip(_BLANKS)
    if not equals or not _is_bare(key) or key in table:
        return False
    value, tail = _value(rest.lstrip(_BLANKS))
    if value is _UNKNOWN or not _ends_line(tail):
        return False
    table[key] = value
    return True


def _value(text: str) -> tuple[object, str]:
    """(value, rest of the line) for a value at the start of *text*; ``_UNKNOWN`` if unsure."""
    quote = text[:1]
    if quote in ('"', "'"):
        end = text.find(quote, 1)
        value = text[1:end]
        if end == -1 or (quote == '"' and "\\" in value):
            return _UNKNOWN, ""
        return value, text[end + 1:]  # '''…''' / """…""" leave a tail: not in the subset
    size = len(text)
    for stop, char in enumerate(text):
        if char in " \t#":
            size = stop
            break
    token, tail = text[:size], text[size:]
    if token in ("true", "false"):
        return token == "true", tail
    if token.isascii() and token.isdigit() and (token == "0" or token[0] != "0"):
        return int(token), tail
    return _UNKNOWN, ""


def _ends_line(tail: str) -> bool:
    """Only blanks, or blanks and a comment, follow."""
    rest = tail.lstrip(_BLANKS)
    return not rest or rest[0] == "#"


def _is_bare(name: str) -> bool:
    return bool(name) and _BARE.issuperset(name)
