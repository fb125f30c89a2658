"""The header changes msmtp makes: added From/To/Date/Message-ID, removed Bcc and friends.

Added headers go *above* the original block, in msmtp's order (reference §5.1):

1. ``From:`` — ``set_from_header on`` always (replacing every ``From:``), ``auto``
   when no ``From:`` field carries an address (addressless ``From:`` fields are
   then replaced too, as msmtp does);
2. ``To: undisclosed-recipients:;`` — ``undisclosed_recipients`` (original To, Cc
   and Bcc fields removed);
3. ``Date:`` — unless a ``Date:`` field exists (RFC 5322 §3.6.1), local time, English;
4. ``Message-ID:`` — unless one exists (RFC 5322 §3.6.4), ``<32hex.ENVFROM>``, or
   ``<32hex.ENVFROM@canonical-host>`` when the envelope-from has no ``@``.

``Bcc:`` fields are removed when ``remove_bcc_headers`` is on, with or without
``-t`` (RFC 5322 §3.6.3).  Deliberate fixes over msmtp 1.8.23:

* ``Resent-Bcc:`` is removed under the same conditions (msmtp leaks it);
* the ``-F`` full name is written as an RFC 5322 phrase: quoted when it holds
  specials, RFC 2047-encoded when it holds non-ASCII text, refused when it holds
  a line break (msmtp writes it verbatim, allowing header injection).

Added lines end in LF, like the stored header block; the wire encoder makes CRLF.
"""

from __future__ import annotations

import os
import time

from smtpq.sender.errors import DataError
from smtpq.sender.message.addresses import parse_address_list, sanitize
from smtpq.sender.message.headers import HeaderBlock

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun",
           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# RFC 5322 §3.2.3 atext; a full name made only of atoms and single spaces goes out as is.
# (Patterns, not compiled objects: only ``-F`` needs them, and ``re`` caches them then.)
_ATEXT = r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+"
_PLAIN_PHRASE = rf"{_ATEXT}(?: {_ATEXT})*"
_PRINTABLE_ASCII = r"[\x20-\x7e]*"


class Rewrite:
    """What to do to a header block: lines to add on top, field names to drop."""

    __slots__ = ("added", "dropped")

    def __init__(self, added: bytes, dropped: frozenset[str]) -> None:
        self.added = added  # complete header lines, LF-terminated
        self.dropped = dropped  # lower-case field names

    def drops(self, name: str) -> bool:
        return name.lower() in self.dropped


def plan_rewrite(
    headers: HeaderBlock,
    *,
    envelope_from: str,
    full_name: str | None = None,
    set_from_header: str = "auto",
    set_date_header: str = "auto",
    set_msgid_header: str = "auto",
    remove_bcc_headers: bool = True,
    undisclosed_recipients: bool = False,
    now: float | None = None,
    hostname: str | None = None,
    has_from: bool | None = None,
) -> Rewrite:
    """Decide msmtp's header changes for *headers*; ``now`` is the added Date (epoch seconds).

    *has_from* is :func:`has_from_address` when the caller already knows it
    (``--read-envelope-from`` parsed the From: fields): each is parsed once.
    """
    added: list[str] = []
    dropped: set[str] = {"bcc", "resent-bcc"} if remove_bcc_headers else set()
    if set_from_header == "auto" and has_from is None:
        has_from = has_from_address(headers)
    if set_from_header == "on" or (set_from_header == "auto" and not has_from):
        added.append(format_from(envelope_from, full_name))
        dropped.add("from")
    if undisclosed_recipients:
        added.append("To: undisclosed-recipients:;")
        dropped.update(("to", "cc", "bcc", "resent-bcc"))
    if set_date_header == "auto" and not headers.has("date"):
        added.append("Date: " + format_date(time.time() if now is None else now))
    if set_msgid_header == "auto" and not headers.has("message-id"):
        added.append("Message-ID: " + make_message_id(envelope_from, hostname=hostname))
    data = "".join(line + "\n" for line in added).encode("utf-8", "surrogateescape")
    return Rewrite(data, frozenset(dropped))


def has_from_address(headers: HeaderBlock) -> bool:
    """Whether some ``From:`` field carries an address (msmtp adds one otherwise).

    A ``From:`` that does not parse is treated as carrying one: it is the
    author's header, and replacing it would be a guess.
    """
    for field in headers.get_all("from"):
        try:
            if parse_address_list(field.value):
                return True
        except DataError:
            return True
    return False


def from_header_address(headers: HeaderBlock) -> str | None:
    """``--read-envelope-from``: the first address of the first ``From:`` that has one."""
    for field in headers.get_all("from"):
        found = parse_address_list(field.value, what="address in From header")
        if found:
            return found[0]
    return None


def format_from(envelope_from: str, full_name: str | None) -> str:
    """``From: ADDR`` or ``From: NAME <ADDR>`` with NAME as an RFC 5322 phrase."""
    if full_name is None:
        return f"From: {envelope_from}"
    return f"From: {format_phrase(full_name)} <{envelope_from}>"


def format_phrase(name: str) -> str:
    """*name* as an RFC 5322 §3.2.5 phrase: atoms as is, else quoted, else RFC 2047."""
    if "\r" in name or "\n" in name or "\0" in name:
        raise DataError(f"invalid full name '{sanitize(name)}': contains a line break or NUL")
    import re  # only -F needs a regular expression

    if name == "" or re.fullmatch(_PLAIN_PHRASE, name):
        return name  # msmtp's output, and already a valid phrase
    if re.fullmatch(_PRINTABLE_ASCII, name):
        # RFC 5322 §3.2.4 quoted-string: escape DQUOTE and backslash as quoted-pairs
        return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    from email.header import Header  # rare path: keeps the enqueue imports cheap

    # RFC 2047 §5(3): encoded-words may replace a whole phrase; §2: each at most 75
    # characters (email.header overshoots by one at its default line length)
    return Header(name, "utf-8", maxlinelen=75, header_name="From").encode(linesep="\n")


def format_date(now: float) -> str:
    """RFC 5322 §3.3 date-time in local time, English names, zero-padded day, ±hhmm."""
    local = time.localtime(now)
    offset = (local.tm_gmtoff or 0) // 60
    sign = "-" if offset < 0 else "+"
    hours, minutes = divmod(abs(offset), 60)
    return (
        f"{_DAYS[local.tm_wday]}, {local.tm_mday:02d} {_MONTHS[local.tm_mon - 1]} "
        f"{local.tm_year} {local.tm_hour:02d}:{local.tm_min:02d}:{local.tm_sec:02d} "
        f"{sign}{hours:02d}{minutes:02d}"
    )


def make_message_id(envelope_from: str, *, hostname: str | None = None) -> str:
    """msmtp's ``<32hex.ENVFROM>``, or ``<32hex.ENVFROM@HOST>`` if ENVFROM has no ``@``."""
    unique = os.urandom(16).hex()  # msmtp hashes time, boot time, pid and host; random is as unique
    if "@" in envelope_from:
        return f"<{unique}.{envelope_from}>"
    return f"<{unique}.{envelope_from}@{hostname or canonical_hostname()}>"


def canonical_hostname() -> str:
    """The canonical name of this host (msmtp's ``net_get_canonical_hostname``)."""
    import socket  # only needed for envelope-froms without a domain

    name = socket.gethostname()
    try:
        info = socket.getaddrinfo(name, None, 0, 0, 0, socket.AI_CANONNAME)
    except OSError:
        return name
    return (info[0][3] if info and info[0][3] else name)
