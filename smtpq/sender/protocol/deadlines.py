"""Overall deadlines of a session's network stages: what a queue needs and msmtp lacks.

msmtp's ``timeout`` bounds each read and write on its own, and without it
nothing is bounded at all: a server that accepts the connection and says
nothing, or that trickles one byte just before each timeout, keeps the client
for ever.  A queue cannot let one server hold the mail of others, so its
sessions get :class:`StageLimits`: a deadline per stage that the server cannot
stretch by sending slowly (RFC 5321 §4.5.3.2 gives the minimum time a client
waits at each; Postfix: ``smtp_connect_timeout`` 30 s, ``smtp_helo_timeout``
300 s, ``smtp_xfer_timeout`` 180 s, ``smtp_data_done_timeout`` 600 s).

* connecting: ``connect`` (at most 30 s, as Postfix);
* each reply — the greeting (§4.5.3.2.1), EHLO, STARTTLS, every AUTH step,
  MAIL (§4.5.3.2.2), RCPT (§4.5.3.2.3), DATA (§4.5.3.2.4), RSET — and the
  TLS handshake: ``reply``, counted from when the client starts waiting;
* the mail's content (§4.5.3.2.5): ``transfer`` for each write, and
  ``transfer`` plus one second per ``min_rate`` bytes handed over in all, so a
  large mail over a slow link has the time it needs and a server that reads a
  byte a second, or stops reading, does not;
* the end of data (§4.5.3.2.6): ``end_of_data``.

The account's own ``timeout`` still bounds each read and write as in msmtp.
``--send-now`` passes no limits: it behaves exactly as msmtp.  A missed
deadline is a ``StageTimeout`` (EX_TEMPFAIL, ``smtpq.sender.errors``).
"""

from __future__ import annotations

import time

from smtpq.sender.errors import StageTimeout
from smtpq.sender.record import FrozenRecord

#: Longest wait for a TCP connection (Postfix's ``smtp_connect_timeout``).
CONNECT_AT_MOST = 30.0
#: Slowest the mail's content may be taken, in bytes per second, once ``transfer``
#: is used up (about 8 kbit/s: any working link, never a trickle).
MIN_RATE = 1024.0
#: The default stage deadline, in seconds (RFC 5321 §4.5.3.2: 5 minutes).
DEFAULT_STAGE_TIMEOUT = 300.0


class StageLimits(FrozenRecord):
    """The deadline of each stage, in seconds (see the module documentation)."""

    __slots__ = ("connect", "end_of_data", "min_rate", "reply", "transfer")
    FIELDS = ("connect", "reply", "transfer", "end_of_data", "min_rate")

    connect: float
    reply: float
    transfer: float
    end_of_data: float
    min_rate: float

    def __init__(self, connect: float, reply: float, transfer: float, end_of_data: float,
                 min_rate: float = MIN_RATE) -> None:
        self._freeze(connect=connect, reply=reply, transfer=transfer, end_of_data=end_of_data,
                     min_rate=min_rate)

    @classmethod
    def from_stage_timeout(cls, seconds: float = DEFAULT_STAGE_TIMEOUT) -> StageLimits:
        """The limits for the queue's one ``stage_timeout`` setting.

        Every stage gets *seconds*, except connecting (at most 30 s) and the end of
        data, which gets twice as long (RFC 5321 §4.5.3.2.6: 10 minutes against 5).
        """
        return cls(connect=min(CONNECT_AT_MOST, seconds), reply=seconds, transfer=seconds,
                   end_of_data=2 * seconds)


class Deadline:
    """One stage's deadline: a point on the monotonic clock, and what was awaited.

    ``rate`` (bytes per second), when set, moves the deadline on by one second
    per ``rate`` bytes the server takes (``credit``); ``each`` then also bounds
    every single operation (Postfix's ``smtp_xfer_timeout``), so that what the
    socket buffers took at once does not buy a server that stopped reading an
    hour.
    """

    __slots__ = ("at", "connecting", "each", "rate", "seconds", "started", "waiting_for")

    def __init__(self, seconds: float, waiting_for: str, *, rate: float | None = None,
                 connecting: bool = False) -> None:
        self.seconds = seconds
        self.started = time.monotonic()
        self.at = self.started + seconds
        self.waiting_for = waiting_for
        self.rate = rate
        self.each = seconds if rate else None
        self.connecting = connecting

    def left(self) -> float:
        """Seconds until the deadline (0 or less: it has passed)."""
        return self.at - time.monotonic()

    def credit(self, size: int) -> None:
        """*size* more bytes were taken: with a ``rate``, the deadline moves on."""
        if self.rate:
            self.at += size / self.rate

    def expired(self) -> StageTimeout:
        """The error for this deadline, once it has passed (or, with a ``rate``, once
        one operation took ``each``: the time spent is then what it says)."""
        seconds = time.monotonic() - self.started if self.rate else self.seconds
        return StageTimeout(round(seconds, 1), self.waiting_for, connecting=self.connecting)

    def check(self) -> float:
        """Seconds left; raises ``StageTimeout`` when none are."""
        left = self.left()
        if left <= 0:
            raise self.expired()
        return left
