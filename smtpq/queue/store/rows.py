"""The rows one enqueued mail becomes: shared by the stdlib fast paths and the SQLAlchemy store.

Every enqueue path builds its INSERTs from these functions and column lists,
so what a new message looks like in the database is decided in exactly one
place, for the schema revision ``HEAD``.  Its status is not among the columns:
a new message is queued and a new recipient pending by the schema's defaults
(``smtpq.queue.store.sql.models``), so no enqueue path spells a status or creates
the ``enum`` classes.  The mail itself is cut into ``CHUNK_SIZE`` pieces
(``message_chunks``) so that a 200 MB mail is stored and read back with flat
memory, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import time

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (import cost)
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator
    from datetime import datetime
    from typing import Any

    from smtpq.queue.new_message import Content, NewMessage

#: Bytes per stored chunk: large enough that a chunk costs one row, small enough
#: that holding one (or two, while re-chunking) in memory does not matter.
CHUNK_SIZE = 1 << 20

#: The Alembic revision these rows are for: the stdlib enqueue paths check the
#: database is at it without importing Alembic (``tests/queue`` fails when it
#: drifts from the head of ``smtpq/migrations/versions``).
HEAD = "0003"

# The columns each stdlib INSERT names.  Every column is given explicitly but the
# generated ids and the status, which the schema's defaults make queued / pending;
# tests/queue compares these to smtpq.queue.store.sql.models so that a schema change
# cannot silently bypass the stdlib paths.
MESSAGE_COLUMNS = (
    "account", "config_file", "options", "envelope_from", "size", "msgid",
    "subject", "created", "queued_at", "next_attempt", "attempts", "deferrals",
    "last_exit_code", "last_smtp_status", "last_smtp_message", "claimed_by",
    "claim_expires", "finished", "claim_token", "notice_of", "warned", "bounced",
)
RECIPIENT_COLUMNS = ("message_id", "position", "address", "smtp_status", "smtp_message",
                     "updated")
CHUNK_COLUMNS = ("message_id", "seq", "data")


def utc_now_text() -> str:
    """Now in UTC, as ``to_timestamp(datetime.now(UTC))`` writes it (``sqlite_file``),
    without ``datetime``, which the PostgreSQL enqueue path does not load otherwise."""
    seconds, nanoseconds = divmod(time.time_ns(), 1_000_000_000)
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(seconds)) + f".{nanoseconds // 1000:06d}"


def message_row(message: NewMessage, now: datetime | str) -> dict[str, Any]:
    """Every column of a new ``messages`` row but ``id`` and ``status`` (the schema's
    default: queued); ``size`` is filled in later.

    *now* is a datetime, or (the stdlib SQLite path) the text it is stored as.
    """
    return {
        "account": message.account,
        "config_file": message.config_file,
        "options": encode_options(message.options),
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
        "claim_token": None,
        "notice_of": None,
        "warned": None,
        "bounced": None,
    }


def recipient_rows(message_id: int, message: NewMessage,
                   now: datetime | str) -> list[dict[str, Any]]:
    """Every column of the new ``recipients`` rows but ``id`` and ``status`` (the schema's
    default: pending)."""
    return [
        {
            "message_id": message_id,
            "position": position,
            "address": address,
            "smtp_status": None,
            "smtp_message": None,
            "updated": now,
        }
        for position, address in enumerate(message.recipients)
    ]


def insert_chunks(execute: Callable[[str, tuple[int, int, bytes]], object], insert_sql: str,
                  message_id: int, content: Content) -> int:
    """Insert *content* as ``message_chunks`` rows of *message_id*, one chunk alive at a
    time (flat memory in mail size), through *execute* (a DB-API ``execute``); its size."""
    size = seq = 0
    # Not enumerate(), and ``del``: a chunk must be gone before the next one is built
    # (enumerate's reused result tuple holds it), or two are alive at once.
    for chunk in iter_chunks(content):  # noqa: SIM113
        execute(insert_sql, (message_id, seq, chunk))
        size += len(chunk)
        seq += 1
        del chunk
    return size


def _displayable(text: str | None) -> str | None:
    # The subject is only ever shown; a header decoded with surrogateescape
    # must not make the whole mail unstorable (TEXT is UTF-8).
    return None if text is None else text.encode("utf-8", "replace").decode("utf-8")


def encode_options(options: tuple[str, ...]) -> str:
    """The argv list as JSON text (``[]`` for none, the common case, without importing json)."""
    if not options:
        return "[]"
    import json

    # ensure_ascii (the default) escapes the lone surrogates os.fsdecode
    # makes of non-UTF-8 argv bytes, so they survive the round trip.
    return json.dumps(list(options))


def decode_options(text: str) -> tuple[str, ...]:
    """The argv list stored by ``message_row``."""
    if text == "[]":
        return ()
    import json

    return tuple(json.loads(text))


def iter_chunks(content: Content, size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """*content* cut into pieces of exactly *size* bytes (the last may be shorter)."""
    if hasattr(content, "read"):
        return _chunks_from_file(content, size)
    return _rechunk(content, size)


def _chunks_from_file(stream: Any, size: int) -> Iterator[bytes]:
    """Exact *size* chunks read from a file (the last may be shorter)."""
    while True:
        # A pipe or raw file may return short reads; fill the chunk before storing it.
        parts: list[bytes] = []
        held = 0
        while held < size:
            data = stream.read(size - held)
            if not data:
                break
            parts.append(data)
            held += len(data)
        if held:
            yield parts[0] if len(parts) == 1 else b"".join(parts)
        if held < size:
            return


def _rechunk(pieces: Iterable[bytes], size: int) -> Iterator[bytes]:
    """Exact *size* chunks from pieces of any size (the last may be shorter).

    The pieces of the chunk being filled are held as they are and joined once,
    so memory is one chunk's pieces plus the chunk, whatever the size of the mail
    (a growing bytearray over-allocates and copies), and a small mail costs little.
    """
    pending: list[memoryview] = []
    held = 0
    for piece in pieces:
        view = memoryview(piece)
        while len(view) >= size - held:  # enough to complete a chunk
            take = size - held
            pending.append(view[:take])
            yield b"".join(pending)
            pending, held = [], 0
            view = view[take:]
        if view:
            pending.append(view)
            held += len(view)
    if pending:
        yield b"".join(pending)
