"""What the server announced in its EHLO/LHLO reply (RFC 5321 §4.1.1.1, RFC 2033 §4.1).

Parsed per line, keyword first and case-insensitive, as msmtp's ``smtp_init``
does: ``AUTH`` is also recognised in the old ``AUTH=`` form, and ``SIZE``
counts only with a valid number (RFC 1870 §4; 0 means no limit).  After a
HELO fallback nothing is known.
"""

from __future__ import annotations

from smtpq.sender.record import FrozenRecord

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (import cost)
if TYPE_CHECKING:
    from smtpq.sender.protocol.reply import Reply


class Capabilities(FrozenRecord):
    """The extensions of one EHLO/LHLO reply; ``esmtp`` is False after HELO.

    A record, not a dataclass (import and class-building cost: smtpq.sender.record).
    """

    __slots__ = ("auth_methods", "esmtp", "keywords", "lines", "size")
    FIELDS = ("esmtp", "keywords", "size", "auth_methods", "lines")

    esmtp: bool
    keywords: dict[str, str]
    size: int | None  # announced limit; 0 = unlimited; None = not announced
    auth_methods: frozenset[str]
    lines: tuple[str, ...]

    def __init__(self, esmtp: bool = False, keywords: dict[str, str] | None = None,
                 size: int | None = None, auth_methods: frozenset[str] = frozenset(),
                 lines: tuple[str, ...] = ()) -> None:
        self._freeze(esmtp=esmtp, keywords={} if keywords is None else keywords, size=size,
                     auth_methods=auth_methods, lines=lines)

    @classmethod
    def from_reply(cls, reply: Reply) -> Capabilities:
        keywords: dict[str, str] = {}
        methods: set[str] = set()
        for line in reply.lines[1:]:  # the first line is the server's greeting name
            keyword, params = _split(line[4:].strip())
            if not keyword:
                continue
            if keyword == "AUTH":
                methods.update(p.upper() for p in params.split())
            keywords.setdefault(keyword, params.strip())
        return cls(True, keywords, _size(keywords.get("SIZE")), frozenset(methods), reply.lines)

    def has(self, keyword: str) -> bool:
        return keyword.upper() in self.keywords

    @property
    def pipelining(self) -> bool:  # RFC 2920
        return self.has("PIPELINING")

    @property
    def starttls(self) -> bool:  # RFC 3207
        return self.has("STARTTLS")

    @property
    def dsn(self) -> bool:  # RFC 3461
        return self.has("DSN")

    @property
    def etrn(self) -> bool:  # RFC 1985
        return self.has("ETRN")

    @property
    def eightbitmime(self) -> bool:  # RFC 6152
        return self.has("8BITMIME")

    @property
    def smtputf8(self) -> bool:  # RFC 6531
        return self.has("SMTPUTF8")

    @property
    def enhancedstatuscodes(self) -> bool:  # RFC 2034
        return self.has("ENHANCEDSTATUSCODES")

    @property
    def auth(self) -> bool:  # RFC 4954
        return self.has("AUTH")


def _split(text: str) -> tuple[str, str]:
    head, _, rest = text.partition(" ")
    if head.upper().startswith("AUTH="):  # pre-RFC 4954 servers
        return "AUTH", f"{head[5:]} {rest}"
    return head.upper(), rest


def _size(value: str | None) -> int | None:
    if value is None or not value.isdigit():
        return None
    return int(value)
