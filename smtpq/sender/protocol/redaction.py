"""Server text with the session's own credentials blanked out: the one redaction point.

A server may repeat what it was sent: a ``535`` that echoes the AUTH PLAIN
payload, a ``334`` quoting a token.  Everything the server says reaches the
debug transcript, error messages, the log line and the queue's history, so
the session blanks every form of a credential it sent *before* a reply leaves
:meth:`Session.read_reply <smtpq.sender.protocol.session.Session.read_reply>`:

- each AUTH payload line it sent (RFC 4954 §4), in base64 and decoded;
- each secret the AUTH step registered (the password or bearer token, and its
  base64 form alone).

Each occurrence becomes ``*`` (as msmtp shows hidden values).  Only the text
after the reply code is touched, so the code and its separator survive.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (import cost)
if TYPE_CHECKING:
    from collections.abc import Callable

    from smtpq.sender.protocol.reply import Reply

MASK = "*"
#: Lines that carry no credential: an empty initial response and the cancel line.
_NOT_SECRET = ("", "=", "*")


class Secrets:
    """The credentials one session sent; false (no work at all) until there is one."""

    def __init__(self, user: str | None = None) -> None:
        self._forms: list[str] = []  # longest first, so a payload goes before its parts
        # The user name is no secret (LOGIN sends it as a payload line), and
        # blanking it would garble every later reply naming the mailbox.
        self._user = user

    def __bool__(self) -> bool:
        return bool(self._forms)

    def add(self, secret: str | None) -> None:
        """Blank *secret* (a password or token) and its base64 form from now on."""
        if secret:
            self._extend([secret, _b64(secret.encode("utf-8"))])

    def note_sent(self, line: str) -> None:
        """Blank the payload of the credential-carrying command *line* from now on."""
        words = line.split(" ")
        payload = " ".join(words[2:]) if words[0].upper() == "AUTH" else line
        if payload in _NOT_SECRET:
            return
        forms = [payload]
        decoded = _unb64(payload)
        if decoded:
            forms.append(decoded)
            # SASL fields (PLAIN's NUL, OAUTH's ^A separated key=value pairs):
            # "auth=Bearer <token>" carries the token on its own.
            for field in decoded.replace("\0", "\x01").split("\x01"):
                if field.startswith("auth="):
                    forms.extend([field, field[5:], field[5:].partition(" ")[2]])
        self._extend(forms)

    def text(self, text: str) -> str:
        for form in self._forms:
            if form in text:
                text = text.replace(form, MASK)
        return text

    def raw_line(self, raw: str) -> str:
        """A raw reply line (``250-...\\r\\n``) with the text after its code blanked."""
        return raw[:4] + self.text(raw[4:])

    def reply(self, reply: Reply) -> Reply:
        lines = tuple(self.raw_line(line) for line in reply.lines)
        return reply if lines == reply.lines else type(reply)(reply.code, lines)

    def tracer(self, trace: Callable[[str], None] | None) -> Callable[[str], None] | None:
        """*trace* receiving blanked lines (None stays None)."""
        if trace is None:
            return None
        return lambda raw: trace(self.raw_line(raw))

    def _extend(self, forms: list[str]) -> None:
        new = [form for form in forms
               if form and form != self._user and form not in self._forms]
        if new:
            self._forms = sorted(self._forms + new, key=len, reverse=True)


def _b64(data: bytes) -> str:
    import base64  # loaded already once AUTH runs

    return base64.b64encode(data).decode("ascii")


def _unb64(payload: str) -> str:
    """*payload* decoded from base64 as text, or '' when it is not base64."""
    import base64
    import binascii

    try:
        return base64.b64decode(payload, validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return ""
