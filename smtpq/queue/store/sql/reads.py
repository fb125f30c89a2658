"""Read side of the SQL store: rows to records, a fixed number of queries per call.

Listing N messages costs two queries (messages, then all their recipients
with one ``IN``), never one per message; the mail itself is streamed one
chunk per query so a 200 MB message never sits in memory.
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, Row, select

from smtpq.queue.errors import StoreError
from smtpq.queue.records import (
    AttemptRecord,
    ClaimedMessage,
    MessageDetail,
    MessageSummary,
    Recipient,
    RecipientState,
)
from smtpq.queue.states import UNDELIVERED, MessageStatus
from smtpq.queue.store.rows import decode_options
from smtpq.queue.store.sql.engine import READ_ONLY
from smtpq.queue.store.sql.models import attempts, message_chunks, messages, recipients
from smtpq.sender.delivery.outcome import RecipientStatus

#: Most ids in one ``IN (...)``: SQLite allows 32766 host parameters, keep far below.
BATCH = 500


def batches(ids: Sequence[int]) -> list[Sequence[int]]:
    """*ids* cut into pieces small enough for one ``IN`` list."""
    return [ids[start:start + BATCH] for start in range(0, len(ids), BATCH)]


def load_summaries(connection: Connection, statuses: Collection[MessageStatus],
                   after_id: int | None, limit: int | None) -> list[MessageSummary]:
    query = select(messages).where(messages.c.status.in_(list(statuses))).order_by(messages.c.id)
    if after_id is not None:
        query = query.where(messages.c.id > after_id)
    if limit is not None:
        query = query.limit(limit)
    rows = connection.execute(query).all()
    addresses = _addresses(connection, [row.id for row in rows])
    return [MessageSummary(**_summary_fields(row, addresses[row.id])) for row in rows]


def load_detail(connection: Connection, message_id: int) -> MessageDetail | None:
    row = connection.execute(select(messages).where(messages.c.id == message_id)).first()
    if row is None:
        return None
    states = tuple(_recipient_state(r) for r in connection.execute(
        select(recipients).where(recipients.c.message_id == message_id)
        .order_by(recipients.c.position)))
    history = tuple(attempt_record(a) for a in connection.execute(
        select(attempts).where(attempts.c.message_id == message_id).order_by(attempts.c.id)))
    return MessageDetail(
        **_summary_fields(row, tuple(state.address for state in states)),
        config_file=row.config_file, options=decode_options(row.options),
        queued_at=row.queued_at, deferrals=row.deferrals,
        last_smtp_status=row.last_smtp_status, last_smtp_message=row.last_smtp_message,
        claimed_by=row.claimed_by, claim_expires=row.claim_expires, finished=row.finished,
        recipient_states=states, history=history,
    )


def size_and_first_chunk(connection: Connection, message_id: int
                         ) -> tuple[int, bytes | None] | None:
    """The stored size of a mail and its first chunk (None: no such message)."""
    chunk = message_chunks.c
    row = connection.execute(
        select(messages.c.size, chunk.data).select_from(messages).outerjoin(
            message_chunks, (chunk.message_id == messages.c.id) & (chunk.seq == 0))
        .where(messages.c.id == message_id)).first()
    return None if row is None else (row.size, row.data)


#: Mails up to this size come with their claim, whole (one chunk): a batch of
#: claimed mail then holds at most ``BATCH`` times this in memory.
SMALL_MAIL = 32 * 1024


#: What a ``ClaimedMessage`` needs (a row's other columns cost time to convert).
_CLAIMED_COLUMNS = tuple(messages.c[name] for name in (
    "id", "account", "config_file", "options", "envelope_from", "size", "msgid", "created",
    "queued_at", "attempts", "deferrals", "claimed_by", "claim_expires"))


def load_claimed(connection: Connection, ids: Sequence[int]) -> list[ClaimedMessage]:
    """The claimed messages with their undelivered recipients (and small mails' content)."""
    chunk = message_chunks.c
    claimed = []
    for batch in batches(sorted(ids)):
        rows = connection.execute(
            select(*_CLAIMED_COLUMNS, chunk.data).select_from(messages).outerjoin(
                message_chunks, (chunk.message_id == messages.c.id) & (chunk.seq == 0)
                & (messages.c.size <= SMALL_MAIL))
            .where(messages.c.id.in_(batch)).order_by(messages.c.id)).all()
        undelivered: dict[int, list[Recipient]] = defaultdict(list)
        for r in connection.execute(
                select(recipients.c.message_id, recipients.c.position, recipients.c.address)
                .where(recipients.c.message_id.in_(batch), recipients.c.status.in_(UNDELIVERED))
                .order_by(recipients.c.message_id, recipients.c.position)):
            undelivered[r.message_id].append(Recipient(r.position, r.address))
        claimed += [_claimed(row, tuple(undelivered[row.id])) for row in rows]
    return claimed


def attempt_record(row: Row[Any]) -> AttemptRecord:
    return AttemptRecord(started=row.started, finished=row.finished, exit_code=row.exit_code,
                         smtp_status=row.smtp_status, smtp_message=row.smtp_message,
                         log_line=row.log_line)


def _claimed(row: Any, undelivered: tuple[Recipient, ...]) -> ClaimedMessage:
    return ClaimedMessage(
        id=row.id, account=row.account, config_file=row.config_file,
        options=decode_options(row.options), envelope_from=row.envelope_from,
        recipients=undelivered, size=row.size, msgid=row.msgid, created=row.created,
        queued_at=row.queued_at, attempts=row.attempts, deferrals=row.deferrals,
        claimed_by=row.claimed_by, claim_expires=row.claim_expires,
        content=_whole(row.data, row.size),
    )


def _whole(data: bytes | None, size: int) -> bytes | None:
    """The first chunk when it is the whole mail (an empty mail has no chunk)."""
    if size == 0:
        return b""
    return bytes(data) if data is not None and len(data) == size else None


def _addresses(connection: Connection, ids: list[int]) -> dict[int, tuple[str, ...]]:
    found: dict[int, list[str]] = defaultdict(list)
    for batch in batches(ids):
        for r in connection.execute(
                select(recipients.c.message_id, recipients.c.address)
                .where(recipients.c.message_id.in_(batch))
                .order_by(recipients.c.message_id, recipients.c.position)):
            found[r.message_id].append(r.address)
    return {message_id: tuple(found[message_id]) for message_id in ids}


def _summary_fields(row: Row[Any], addresses: tuple[str, ...]) -> dict[str, Any]:
    return {
        "id": row.id, "status": MessageStatus(row.status), "envelope_from": row.envelope_from,
        "recipients": addresses, "account": row.account, "size": row.size,
        "created": row.created, "attempts": row.attempts, "last_exit_code": row.last_exit_code,
        "next_attempt": row.next_attempt, "subject": row.subject, "msgid": row.msgid,
    }


def _recipient_state(row: Row[Any]) -> RecipientState:
    return RecipientState(position=row.position, address=row.address,
                          status=RecipientStatus(row.status), smtp_status=row.smtp_status,
                          smtp_message=row.smtp_message, updated=row.updated)


class ChunkReader(io.RawIOBase):
    """The chunks of one stored mail as a raw stream; one short query per chunk.

    It knows the stored size, so a mail purged while being read raises
    instead of ending early (a truncated mail must never be sent as whole).
    """

    def __init__(self, engine: Engine, message_id: int, size: int,
                 first: bytes | None = None) -> None:
        super().__init__()
        self._engine = engine.execution_options(**READ_ONLY)
        self._message_id = message_id
        self._remaining = size
        # The first chunk may come with the size (one query less for most mails).
        self._seq = 0 if first is None else 1
        self._chunk = memoryview(b"" if first is None else bytes(first))

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if not self._chunk and self._remaining > 0:
            self._chunk = memoryview(self._fetch())
        count = min(len(buffer), len(self._chunk), self._remaining)
        buffer[:count] = self._chunk[:count]
        self._chunk = self._chunk[count:]
        self._remaining -= count
        return count

    def _fetch(self) -> bytes:
        query = select(message_chunks.c.data).where(
            message_chunks.c.message_id == self._message_id, message_chunks.c.seq == self._seq)
        with self._engine.begin() as connection:
            data = connection.execute(query).scalar()
        if not data:
            raise StoreError(f"message {self._message_id} was removed while being read")
        self._seq += 1
        return bytes(data)
