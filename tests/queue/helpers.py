"""Shared helpers of the queue tests: a fixed clock and message factories."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from smtpq.queue.new_message import NewMessage

#: The tests' "now": every store call gets an explicit time.
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)


def new_message(*recipients: str, account: str = "default", sender: str = "me@example.org",
                **fields: object) -> NewMessage:
    """A ``NewMessage`` with sensible defaults; one recipient unless told otherwise."""
    return NewMessage(
        account=account,
        envelope_from=sender,
        recipients=recipients or ("you@example.net",),
        options=fields.pop("options", ("-t", "-i")),  # type: ignore[arg-type]
        **fields,  # type: ignore[arg-type]
    )


def mail(size: int = 300, seed: int = 0) -> bytes:
    """A deterministic mail body of *size* bytes."""
    line = f"Subject: test {seed}\r\n\r\n".encode()
    filler = random.Random(seed).randbytes(max(0, size - len(line)))
    return (line + filler)[:size]
