"""GNU ``getopt_long`` (glibc 2.36) scanning of argv, with glibc's exact messages.

Semantics reproduced (all observed with msmtp 1.8.23 on glibc 2.36):

* permutation: options after operands still count, operands keep their order;
  with ``POSIXLY_CORRECT`` in the environment the first operand ends options;
* ``--`` ends options; ``-`` alone is an operand;
* clustered short options (``-ti``), attached (``-fADDR``) or separate
  (``-f ADDR``) required arguments, attached-only optional ones (``-d0.1``);
* ``--name=value`` / ``--name value`` for required arguments, only
  ``--name=value`` for optional ones;
* unambiguous prefixes of long names; an exact name always wins; candidates
  that only differ from the first match in spelling (same kind and key) are
  not ambiguous.

Scanning stops at the first error, as msmtp stops at its first error.

glibc prefixes its messages with ``argv[0]`` *verbatim* (``/usr/sbin/sendmail:
unrecognized option '--foo'``) while msmtp's own messages use the basename
(``sendmail: invalid argument x for --tls``); ``GetoptError`` lets the error
boundary tell the two apart.
"""

from __future__ import annotations

from smtpq.sender.errors import GetoptError
from smtpq.sender.options.table import ArgKind

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (import cost)
if TYPE_CHECKING:
    from collections.abc import Generator, Iterator, Sequence

    LongTable = Sequence[tuple[str, int, str]]


def getopt_long(
    argv: Sequence[str],
    short: dict[str, int],
    long: LongTable,
    operands: list[str],
    *,
    posixly_correct: bool = False,
) -> Iterator[tuple[str, str | None]]:
    """Yield ``(key, optarg)`` per option in argv order; append operands to *operands*.

    *key* is the short letter or the table key of the long option.  Raises
    ``UsageError`` with glibc's message at the first malformed option.
    """
    i, n = 0, len(argv)
    while i < n:
        arg = argv[i]
        if arg == "--":
            operands.extend(argv[i + 1:])
            return
        if arg[:2] == "--":
            key, optarg, i = _long_option(argv, i, long)
            yield key, optarg
        elif arg[:1] == "-" and arg != "-":
            i = yield from _short_cluster(argv, i, short)
        elif posixly_correct:
            operands.extend(argv[i:])
            return
        else:
            operands.append(arg)
            i += 1


def _short_cluster(
    argv: Sequence[str], i: int, short: dict[str, int]
) -> Generator[tuple[str, str | None], None, int]:
    """One ``-abc`` word (and maybe the next word as an argument); returns the next index."""
    arg = argv[i]
    for j in range(1, len(arg)):
        letter = arg[j]
        kind = short.get(letter)
        if kind is None:
            raise GetoptError(f"invalid option -- '{_first_byte(letter)}'")
        if kind == ArgKind.NONE:
            yield letter, None
            continue
        rest = arg[j + 1:]
        if kind == ArgKind.OPTIONAL or rest:
            yield letter, rest or None
            return i + 1
        if i + 1 >= len(argv):
            raise GetoptError(f"option requires an argument -- '{letter}'")
        yield letter, argv[i + 1]
        return i + 2
    return i + 1


def _long_option(argv: Sequence[str], i: int, long: LongTable) -> tuple[str, str | None, int]:
    """``--name[=value]`` at argv[i] → (key, optarg, next index)."""
    body = argv[i][2:]
    name, has_value, value = body.partition("=")
    full, kind, key = _match(body, name, long)
    if has_value:
        if kind == ArgKind.NONE:
            raise GetoptError(f"option '--{full}' doesn't allow an argument")
        return key, value, i + 1
    if kind == ArgKind.REQUIRED:
        if i + 1 >= len(argv):
            raise GetoptError(f"option '--{full}' requires an argument")
        return key, argv[i + 1], i + 2
    return key, None, i + 1


def _match(body: str, name: str, long: LongTable) -> tuple[str, int, str]:
    """The table entry *name* denotes: exact, else an unambiguous prefix."""
    for entry in long:
        if entry[0] == name:
            return entry
    candidates = [entry for entry in long if entry[0].startswith(name)]
    if not candidates:
        raise GetoptError(f"unrecognized option '--{body}'")
    first = candidates[0]
    ambiguous = [first] + [e for e in candidates[1:] if e[1:] != first[1:]]
    if len(ambiguous) > 1:
        names = " ".join(f"'--{entry[0]}'" for entry in ambiguous)
        raise GetoptError(f"option '--{body}' is ambiguous; possibilities: {names}")
    return first


def _first_byte(letter: str) -> str:
    """getopt reports bytes: a non-ASCII letter shows as its first UTF-8 byte.

    The byte is returned surrogate-escaped, as Python decodes undecodable argv
    bytes, so writing the message with ``surrogateescape`` gives msmtp's bytes.
    """
    if letter.isascii():
        return letter
    try:
        raw = letter.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return letter
    return raw[:1].decode("utf-8", "surrogateescape")
