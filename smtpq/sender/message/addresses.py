"""RFC 5322 address lists: the addr-specs in ``To:``/``Cc:``/``Bcc:`` and recipient arguments.

One parser serves mail headers (``-t``, ``--read-envelope-from``) and command-line
recipients, as in msmtp, so ``'John <j@x>'`` and ``'a@x, b@y'`` are valid arguments.
It understands RFC 5322 §3.4 address lists with display names, quoted strings,
nested comments, angle addresses, groups (also empty ones), folding whitespace,
quoted-pairs and the obsolete syntax of §4.4 (routes, CFWS around dots, empty
list elements).  It returns only the addr-specs, in order.

Where msmtp's scanner is lenient and the intent is unambiguous, so is this parser:

* a recipient without ``@`` is a local name (for aliases, or the server's local
  delivery), as in msmtp;
* anything before ``<`` is a display name, even an unquoted ``a@b`` (Outlook's
  ``a@b <a@b>``);
* a group without its closing ``;`` (``undisclosed-recipients:``) is accepted;
* ``;`` separates addresses outside groups, as ``,`` does;
* ``<>`` and a lone quoted string (a name without address) contribute nothing.

Deliberate differences from msmtp's character scanner, which never fails but
mangles: ``"q u"@x`` stays ``"q u"@x`` (msmtp sends ``@x``), ``x (c) @ y . z`` is
``x@y.z`` (msmtp: ``z``), and ``john doe@x`` is an error (msmtp: ``doe@x``).

Everything else that is not an address is a :class:`DataError` (exit 65), never a
silent guess: text that could smuggle anything into an SMTP command (CR, LF, NUL,
other control characters) or an addr-spec longer than a line (RFC 5322 §2.1.1,
998 octets) never leaves this module.
"""

from __future__ import annotations

from smtpq.sender.errors import DataError, InvalidAddress

#: RFC 5322 §2.1.1: no line may exceed 998 octets; an addr-spec that long
#: cannot be sent in a header or in ``RCPT TO:<…>`` safely.
MAX_ADDRESS_OCTETS = 998

# The tokenizer below is written out rather than one regular expression, whose
# compilation cost every enqueue 0.5 ms (docs/performance.md); a test compares the two.
_CONTROLS = frozenset(chr(code) for code in (*range(0x20), 0x7F))
#: What ``sanitize`` turns into ``?``.
_CONTROL_TO_QUESTION_MARK = {ord(char): "?" for char in _CONTROLS}
# RFC 5322 §3.2.3: atext is everything printable but the specials and space;
# RFC 6532 §3.2 adds non-ASCII UTF-8.  Controls (incl. DEL) are never atext.
_NOT_ATEXT = _CONTROLS | frozenset(' ()<>[]:;@\\,."')
_WSP = " \t"
_SPECIALS = "<>,:;@."
#: quoted-string (§3.2.4) and domain-literal (§3.4.1): closing character and
#: the characters that may not appear unescaped inside.
_QUOTED = {'"': ('"', '"'), "[": ("]", "[]")}


class _Tok:
    """A lexical token: ``kind`` is atom, qs, dl or the special character itself."""

    __slots__ = ("kind", "text")

    def __init__(self, kind: str, text: str) -> None:
        self.kind = kind
        self.text = text


_END = _Tok("end", "")
_UNTERMINATED = {'"': "unterminated quoted string", "[": "unterminated domain literal"}


def parse_address_list(text: str, *, what: str = "address") -> list[str]:
    """Return the addr-specs of an RFC 5322 address list, in order.

    *what* names the source in error messages (``"recipient"``, ``"To header"``).
    Raises :class:`DataError` for anything that is not an address list.
    """
    try:
        if "\r" in text or "\n" in text or "\0" in text:
            raise InvalidAddress("contains a line break or NUL")
        return _Parser(_tokenize(text)).address_list()
    except InvalidAddress as exc:
        raise DataError(f"invalid {what} '{sanitize(text)}': {exc}") from None


def parse_single_address(text: str, *, what: str = "address") -> str:
    """Return the one addr-spec in *text* (``'Jo <j@x>'`` gives ``'j@x'``)."""
    found = parse_address_list(text, what=what)
    if len(found) != 1:
        raise DataError(f"invalid {what} '{sanitize(text)}': expected exactly one address")
    return found[0]


def sanitize(text: str, limit: int = 200) -> str:
    """*text* made safe for an error message or log line (controls become ``?``)."""
    if len(text) > limit:
        text = text[:limit] + "..."
    text = text.encode("utf-8", "replace").decode("utf-8")
    return text.translate(_CONTROL_TO_QUESTION_MARK)


# ---------------------------------------------------------------- tokenizer

def _tokenize(text: str) -> list[_Tok]:
    """Split *text* into tokens; whitespace and comments (CFWS, §3.2.2) are dropped.

    Tokens: runs of atext (``atom``), quoted strings (``qs``) and domain
    literals (``dl``) with their quoted-pairs, and the specials ``<>,:;@.``.
    """
    tokens: list[_Tok] = []
    pos, end = 0, len(text)
    while pos < end:
        char = text[pos]
        if char in _WSP:
            pos += 1
        elif char not in _NOT_ATEXT:
            start = pos
            while pos < end and text[pos] not in _NOT_ATEXT:
                pos += 1
            tokens.append(_Tok("atom", text[start:pos]))
        elif char in _SPECIALS:
            tokens.append(_Tok(char, char))
            pos += 1
        elif char == "(":
            pos = _skip_comment(text, pos)
        elif char in _QUOTED:
            stop = _quoted_end(text, pos)
            tokens.append(_Tok("qs" if char == '"' else "dl", text[pos:stop]))
            pos = stop
        else:
            raise InvalidAddress(f"unexpected character {char!r}")
    return tokens


def _quoted_end(text: str, pos: int) -> int:
    """The index after the quoted string or domain literal starting at *pos*."""
    opening = text[pos]
    close, forbidden = _QUOTED[opening]
    pos += 1
    while pos < len(text):
        char = text[pos]
        if char == "\\" and pos + 1 < len(text):
            pos += 2  # a quoted-pair: any character
        elif char == close:
            return pos + 1
        elif char in forbidden or char == "\\":
            break  # a "[" inside a literal, or a "\\" at the very end
        else:
            pos += 1
    raise InvalidAddress(_UNTERMINATED[opening])


def _skip_comment(text: str, pos: int) -> int:
    """Return the index after the (possibly nested) comment starting at *pos* (§3.2.2)."""
    depth = 0
    while pos < len(text):
        char = text[pos]
        if char == "\\":
            pos += 2
            continue
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return pos + 1
        pos += 1
    raise InvalidAddress("unterminated comment")


# ------------------------------------------------------------------- parser

class _Parser:
    """Recursive-descent parser over the token list (RFC 5322 §3.4, §4.4)."""

    def __init__(self, tokens: list[_Tok]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> _Tok:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else _END

    def take(self) -> _Tok:
        token = self.peek()
        self.pos += 1
        return token

    def address_list(self) -> list[str]:
        """address-list, with obs-addr-list's empty elements and ``;`` as separator."""
        found: list[str] = []
        while self.peek() is not _END:
            if self.peek().kind in (",", ";"):
                self.take()
                continue
            self.address(found)
            if self.peek().kind not in (",", ";", "end"):
                raise InvalidAddress(f"unexpected '{self.peek().text}'")
        return found

    def address(self, found: list[str]) -> None:
        """address = mailbox / group; the token after the phrase decides."""
        start = self.pos
        self.skip_phrase()
        kind = self.peek().kind
        if kind == ":":
            self.take()
            self.group_rest(found)
        elif kind == "<":
            self.take()
            self.angle_addr_rest(found)
        else:
            self.pos = start
            self.bare_addr_spec(found)

    def skip_phrase(self) -> None:
        """display-name: words, dots and (leniently) ``@`` up to ``:``, ``<`` or a separator."""
        while self.peek().kind in ("atom", "qs", ".", "@", "dl"):
            self.take()

    def group_rest(self, found: list[str]) -> None:
        """group-list after ``name:`` up to ``;`` (§3.4); a missing final ``;`` is tolerated."""
        while True:
            kind = self.peek().kind
            if kind in (";", "end"):
                self.take()
                return
            if kind == ",":
                self.take()
                continue
            self.mailbox(found)
            if self.peek().kind not in (",", ";", "end"):
                raise InvalidAddress(f"unexpected '{self.peek().text}' in group")

    def mailbox(self, found: list[str]) -> None:
        """mailbox = name-addr / addr-spec (no nested groups)."""
        start = self.pos
        self.skip_phrase()
        if self.peek().kind == "<":
            self.take()
            self.angle_addr_rest(found)
            return
        if self.peek().kind == ":":
            raise InvalidAddress("nested group")
        self.pos = start
        self.bare_addr_spec(found)

    def bare_addr_spec(self, found: list[str]) -> None:
        """An addr-spec without angle brackets.

        A lone quoted string there (``"Undisclosed"``) is a display name without
        an address: it adds nothing, as in msmtp.
        """
        following = self.tokens[self.pos + 1] if self.pos + 1 < len(self.tokens) else _END
        if self.peek().kind == "qs" and following.kind in (",", ";", "end"):
            self.take()
            return
        found.append(self.addr_spec())

    def angle_addr_rest(self, found: list[str]) -> None:
        """angle-addr after ``<``: [obs-route] addr-spec ``>``; ``<>`` yields nothing."""
        if self.peek().kind == ">":
            self.take()
            return
        if self.peek().kind in ("@", ","):
            self.skip_route()
        found.append(self.addr_spec())
        if self.take().kind != ">":
            raise InvalidAddress("missing '>'")

    def skip_route(self) -> None:
        """obs-route = obs-domain-list ":" (§4.4): ``@a,@b:`` is ignored."""
        while self.peek().kind in ("@", ",", "atom", ".", "dl"):
            self.take()
        if self.take().kind != ":":
            raise InvalidAddress("bad route in angle address")

    def addr_spec(self) -> str:
        """addr-spec = local-part ["@" domain]; a bare local part is a local name."""
        local = self.local_part()
        if self.peek().kind != "@":
            return _checked(local)
        self.take()
        domain = self.domain()
        return _checked(f"{local}@{domain}")

    def local_part(self) -> str:
        """dot-atom / quoted-string / obs-local-part, leniently allowing stray dots."""
        parts: list[str] = []
        while True:
            token = self.peek()
            if token.kind in ("atom", "qs"):
                if parts and parts[-1] != ".":
                    raise InvalidAddress(f"unexpected '{token.text}'")
                parts.append(token.text)
            elif token.kind == ".":
                parts.append(".")
            else:
                break
            self.take()
        if not any(part != "." for part in parts):
            raise InvalidAddress("missing local part" if not parts else "invalid local part")
        return "".join(parts)

    def domain(self) -> str:
        """domain = dot-atom / domain-literal (§3.4.1)."""
        if self.peek().kind == "dl":
            return self.take().text
        labels = [self.atom("domain")]
        while self.peek().kind == ".":
            self.take()
            labels.append(self.atom("domain"))
        return ".".join(labels)

    def atom(self, what: str) -> str:
        token = self.take()
        if token.kind != "atom":
            raise InvalidAddress(f"invalid {what}")
        return token.text


def _checked(address: str) -> str:
    """Reject addr-specs that cannot be sent safely: controls, or longer than a line."""
    if not _CONTROLS.isdisjoint(address):
        raise InvalidAddress("control character in address")
    try:
        size = len(address.encode("utf-8"))
    except UnicodeEncodeError:
        raise InvalidAddress("address is not valid UTF-8") from None
    if size > MAX_ADDRESS_OCTETS:
        raise InvalidAddress(f"address longer than {MAX_ADDRESS_OCTETS} octets")
    return address
