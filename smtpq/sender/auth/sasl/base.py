"""The SASL client-mechanism interface (RFC 4422 §3) and the errors a mechanism raises.

A mechanism only transforms bytes; :mod:`smtpq.sender.auth.exchange` carries them
over SMTP (RFC 4954).  Mechanisms hold credentials, so their ``repr`` never shows
them, and their error texts never quote what the client or the server sent.
"""

from __future__ import annotations

from smtpq.sender.errors import MechanismError
from smtpq.sender.record import FrozenRecord


class Credentials(FrozenRecord):
    """What a mechanism may use: the ``user``/``password`` settings and where it connects.

    A record, not a dataclass (import cost: smtpq.sender.record).
    """

    __slots__ = ("host", "ntlmdomain", "password", "port", "user")
    FIELDS = ("user", "password", "host", "port", "ntlmdomain")
    #: What :meth:`__repr__` leaves out: the password (shown as ``<hidden>``), and
    #: the port and NTLM domain, which say nothing about whose credentials these are.
    REPR_HIDDEN = frozenset({"password", "port", "ntlmdomain"})

    user: str | None
    password: str | None
    host: str
    port: int
    ntlmdomain: str | None

    def __init__(self, user: str | None, password: str | None = None, host: str = "",
                 port: int = 0, ntlmdomain: str | None = None) -> None:
        self._freeze(user=user, password=password, host=host, port=port, ntlmdomain=ntlmdomain)

    def __repr__(self) -> str:
        return f"Credentials(user={self.user!r}, password=<hidden>, host={self.host!r})"


#: GNU SASL's texts for the failures a client mechanism can hit (``gsasl_strerror``).
PARSE_ERROR = "SASL mechanism could not parse input"
TOO_MANY_STEPS = "SASL mechanism called too many times"
AUTHENTICATION_ERROR = "Error authenticating user"
BASE64_ERROR = "Base 64 coding error in SASL library"


class Mechanism:
    """One SASL client exchange.  Subclasses set ``name`` and override the steps.

    * :meth:`first` gives the client's first message, or ``None`` when the server
      speaks first.  With ``initial_response`` set it goes on the AUTH line
      (RFC 4954 §4), otherwise it answers the server's first (empty) ``334``.
    * :meth:`step` answers each further ``334`` challenge.
    * :meth:`finish` runs on ``235``; it raises when the mechanism has not yet
      verified what it must (SCRAM's server signature, DIGEST-MD5's ``rspauth``).
    """

    name = ""
    initial_response = False
    #: False for mechanisms whose challenges are mere prompts (LOGIN): they are
    #: not decoded, so a server's non-base64 "334 Username:" still works.
    reads_challenges = True
    #: msmtp's built-in XOAUTH2 reports a non-334 reply to the AUTH line as a
    #: protocol error (``command AUTH XOAUTH2 failed``), not an auth failure.
    auth_line_needs_334 = False

    def __init__(self, credentials: Credentials) -> None:
        self.credentials = credentials

    def first(self) -> bytes | None:
        return None

    def step(self, challenge: bytes) -> bytes:
        raise MechanismError(TOO_MANY_STEPS)

    def finish(self) -> None:
        return None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} user={self.credentials.user!r}>"

    # helpers ---------------------------------------------------------------

    @property
    def user(self) -> str:
        return self.credentials.user or ""

    @property
    def password(self) -> str:
        return self.credentials.password or ""


def to_bytes(text: str) -> bytes:
    """UTF-8, keeping undecodable bytes read from ``passwordeval`` or a tty as they were."""
    return text.encode("utf-8", "surrogateescape")
