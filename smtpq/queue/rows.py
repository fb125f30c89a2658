"""The rows one enqueued mail becomes: shared by the stdlib fast path and the SQLAlchemy store.

Both enqueue paths build their INSERTs from these functions, so what a new
message looks like in the database is decided in exactly one place.  The mail
itself is cut into ``CHUNK_SIZE`` pieces (``message_chunks``) so that a 200 MB
mail is stored and read back with flat memory, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from smtpq.queue.new_message import Content, NewMessage
from smtpq.queue.states import MessageStatus, RecipientStatus

#: Bytes per stored chunk: large enough that a chunk costs one row, small enough
#: that holding one (or two, while re-chunking) in memory does not matter.
CHUNK_SIZE = 1 << 20


def message_row(message: NewMessage, now: datetime) -> dict[str, Any]:
    """Every column of a new ``messages`` row except ``id``; ``size`` is filled in later."""
    return {
        "status": MessageStatus.QUEUED.value,
        "account": message.account,
        "config_file": message.config_file,
        # ensure_ascii (the default) escapes the lone surrogates os.fsdecode
        # makes of non-UTF-8 argv bytes, so they survive the round trip.
        "options": json.dumps(list(message.options)),
        "envelope_from": message.envelope_from,
        "size": 0,
        "msgid": message.msgid,
        "subject": _displayable(message.subject),
        "created": now,
        "queued_at": now,
        # Due at once: a queued message always has next_attempt <= now, so one
        # index on (status, next_attempt) finds everything due.
        "next_attempt": now,
        "attempts": 0,
        "deferrals": 0,
        "last_exit_code": None,
        "last_smtp_status": None,
        "last_smtp_message": None,
        "claimed_by": None,
        "claim_expires": None,
        "finished": None,
    }


def recipient_rows(message_id: int, message: NewMessage, now: datetime) -> list[dict[str, Any]]:
    """Every column of the new ``recipients`` rows except ``id``."""
    return [
        {
            "message_id": message_id,
            "position": position,
            "address": address,
            "status": RecipientStatus.PENDING.value,
            "smtp_status": None,
            "smtp_message": None,
            "updated": now,
        }
        for position, address in enumerate(message.recipients)
    ]


def _displayable(text: str | None) -> str | None:
    # The subject is only ever shown; a header decoded with surrogateescape
    # must not make the whole mail unstorable (TEXT is UTF-8).
    return None if text is None else text.encode("utf-8", "replace").decode("utf-8")


def decode_options(text: str) -> tuple[str, ...]:
    """The argv list stored by ``message_row``."""
    return tuple(json.loads(text))


def iter_chunks(content: Content, size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """*content* cut into pieces of exactly *size* bytes (the last may be shorter)."""
    if hasattr(content, "read"):
        return _chunks_from_file(content, size)
    return _rechunk(content, size)


def _chunks_from_file(stream: Any, size: int) -> Iterator[bytes]:
    while True:
        # A pipe or raw file may return short reads; fill the chunk before storing it.
        chunk = bytearray()
        while len(chunk) < size:
            data = stream.read(size - len(chunk))
            if not data:
                break
            chunk += data
        if chunk:
            yield bytes(chunk)
        if len(chunk) < size:
            return


def _rechunk(pieces: Iterable[bytes], size: int) -> Iterator[bytes]:
    buffer = bytearray()
    for piece in pieces:
        buffer += piece
        while len(buffer) >= size:
            yield bytes(buffer[:size])
            del buffer[:size]
    if buffer:
        yield bytes(buffer)
