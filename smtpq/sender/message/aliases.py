"""msmtp's aliases file: local recipients replaced by addresses (reference §5.9).

Format, one mapping a line, ``#`` starting a comment anywhere::

    root: joe@example.com, jane@example.com   # trailing comment
    default: admin@example.com

* Only recipients without ``@`` are looked up; the lookup is exact and
  case-sensitive.  ``default`` catches local names that are not in the file;
  without it they stay as they are.
* Expansion is recursive; more than 16 levels is
  ``Too many redirects when expanding alias NAME.`` (exit 78).
* The file is opened only if some recipient is local; errors are exit 78 and
  read ``FILE: line N: …`` with msmtp's texts.
* Only the envelope changes; the To/Cc headers keep the local names.

Deliberate differences from msmtp 1.8.23, which are bugs there:

* order is kept (msmtp reverses multi-address aliases) and every local recipient
  is expanded (msmtp skips the one right after an expanded alias);
* the right-hand side is parsed as an RFC 5322 address list, so
  ``Jo <j@x>`` gives ``j@x``, and empty elements (``a:`` or ``x,,y``) add no
  recipient (msmtp sends ``RCPT TO:<>`` for them), and there is no silent cut
  after 32 addresses;
* an expansion that needs more than ``MAX_EXPANDED`` lookups (an exponential
  alias graph) stops with ``Too many recipients when expanding alias NAME.``
  instead of running (nearly) forever.
"""

from __future__ import annotations

from collections.abc import Iterable

from smtpq.sender.errors import ConfigError, DataError
from smtpq.sender.message.addresses import parse_address_list

#: msmtp's MAXDEPTH: deeper recursion is "Too many redirects".
MAX_DEPTH = 16
#: msmtp reads lines with a 512-byte buffer; a line filling it is refused.
MAX_LINE = 511
#: Guard against exponential alias graphs (msmtp has none).
MAX_EXPANDED = 10_000


def is_local(recipient: str) -> bool:
    """A recipient the aliases file applies to: non-empty and without ``@``."""
    return recipient != "" and "@" not in recipient


def expand_aliases(recipients: list[str], path: str | None) -> list[str]:
    """Replace local recipients using the aliases file *path* (None or empty: no aliases)."""
    if not path or not any(is_local(r) for r in recipients):
        return list(recipients)
    table = load_aliases(path)
    expanded: list[str] = []
    for recipient in recipients:
        if is_local(recipient):
            _expand(recipient, table, 0, _Expansion(path, recipient, expanded))
        else:
            expanded.append(recipient)
    return expanded


def load_aliases(path: str) -> dict[str, list[str]]:
    """Read and check the aliases file (msmtp's ``aliases_read``)."""
    try:
        with open(path, "rb") as handle:
            return parse_aliases(handle, path)
    except OSError as exc:
        raise ConfigError(f"{path}: {exc.strerror or exc}") from None


def parse_aliases(lines: Iterable[bytes], path: str) -> dict[str, list[str]]:
    """The mappings of an aliases file given as raw lines (line ends included)."""
    table: dict[str, list[str]] = {}
    for number, raw in enumerate(lines, start=1):
        if len(raw) >= MAX_LINE:
            raise ConfigError(f"{path}: line {number}: longer than {MAX_LINE} characters")
        entry = _parse_line(raw.decode("utf-8", "surrogateescape"), number, path)
        if entry is None:
            continue
        key, targets = entry
        if key in table:
            raise ConfigError(f"{path}: line {number}: duplicate alias '{key}'")
        table[key] = targets
    return table


def _parse_line(line: str, number: int, path: str) -> tuple[str, list[str]] | None:
    """``key: targets`` without its comment; None for an empty line."""
    content = line.split("#", 1)[0].strip()
    if not content:
        return None
    parts = content.split(":")
    if len(parts) != 2:
        raise ConfigError(f"{path}: line {number}: single ':' delimiter expected")
    key = parts[0].strip()
    if not is_local(key):
        raise ConfigError(f"{path}: line {number}: invalid alias '{key}'")
    try:
        targets = parse_address_list(parts[1].strip(), what="alias target")
    except DataError as exc:
        raise ConfigError(f"{path}: line {number}: {exc.message}") from None
    return key, targets


class _Expansion:
    """State of one recipient's expansion: where results go, what to name in errors."""

    __slots__ = ("original", "out", "path", "steps")

    def __init__(self, path: str, original: str, out: list[str]) -> None:
        self.path = path
        self.original = original
        self.out = out
        self.steps = 0  # lookups so far, bounded by MAX_EXPANDED

    def fail(self, reason: str) -> ConfigError:
        return ConfigError(f"{self.path}: {reason} when expanding alias {self.original}.")


def _expand(name: str, table: dict[str, list[str]], depth: int, state: _Expansion) -> None:
    """Append the expansion of local *name* (msmtp's ``expand_alias``) to ``state.out``."""
    if depth > MAX_DEPTH:
        raise state.fail("Too many redirects")
    state.steps += 1
    if state.steps > MAX_EXPANDED:
        raise state.fail("Too many recipients")
    targets = table.get(name)
    if targets is None:
        targets = table.get("default")
    if targets is None:
        state.out.append(name)  # not an alias and no default: stays as it is
        return
    for target in targets:
        if is_local(target):
            _expand(target, table, depth + 1, state)
        else:
            state.out.append(target)
