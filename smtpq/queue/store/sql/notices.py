"""SQL of delivery notices: which messages are owed one, and queuing one exactly once.

A message is owed a notice while its marker is NULL: ``bounced`` once it
failed for good or expired, ``warned`` once it has been pending longer than
``delay_warning``.  Notices themselves (``notice_of`` set) are never owed one
(RFC 3464 §2 and RFC 5321 §6.1: no notification about a notification).

``queue_notice`` sets the marker and inserts the notice in one transaction,
the marker first and only where it is still NULL: two flushers (PostgreSQL,
several hosts) racing for the same message queue one notice, and a crash
leaves either both or neither.  ``insert_message`` is the one INSERT of a new
mail, shared with ``SqlStore.enqueue``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from smtpq.queue.new_message import Content, NewMessage
from smtpq.queue.records import NoticeDue
from smtpq.queue.states import CLAIMABLE, MessageStatus, NoticeKind
from smtpq.queue.store.rows import iter_chunks, message_row, recipient_rows
from smtpq.queue.store.sql.models import message_chunks, messages, recipients

M = messages.c

#: The statuses each kind of notice is about, and the column that marks it given.
_FAILURES = (MessageStatus.FAILED, MessageStatus.EXPIRED)
_MARKERS = {NoticeKind.FAILED: ("bounced", _FAILURES), NoticeKind.EXPIRED: ("bounced", _FAILURES),
            NoticeKind.DELAYED: ("warned", CLAIMABLE)}


def insert_message(c: Connection, message: NewMessage, content: Content, when: datetime, *,
                   notice_of: int | None = None) -> int:
    """Insert a new queued mail with its recipients and chunks; its id."""
    row = message_row(message, when)
    row["notice_of"] = notice_of
    result = c.execute(insert(messages).values(row))
    assert result.inserted_primary_key is not None
    message_id = int(result.inserted_primary_key[0])
    rows = recipient_rows(message_id, message, when)
    if rows:
        c.execute(insert(recipients), rows)
    size = 0
    for seq, chunk in enumerate(iter_chunks(content)):
        c.execute(insert(message_chunks).values(message_id=message_id, seq=seq, data=chunk))
        size += len(chunk)
    c.execute(update(messages).where(M.id == message_id).values(size=size))
    return message_id


def due_notices(c: Connection, *, delayed_since: datetime | None) -> list[NoticeDue]:
    """Failed/expired messages not yet reported, then (with *delayed_since*) pending ones
    queued at or before it and not yet warned about; notices themselves never."""
    failures = select(M.id, M.status).where(
        M.status.in_(_FAILURES), M.bounced.is_(None), M.notice_of.is_(None)).order_by(M.id)
    due = [NoticeDue(row.id, NoticeKind(row.status)) for row in c.execute(failures)]
    if delayed_since is not None:
        pending = select(M.id).where(
            M.status.in_(CLAIMABLE), M.warned.is_(None), M.notice_of.is_(None),
            M.queued_at <= delayed_since).order_by(M.id)
        due += [NoticeDue(message_id, NoticeKind.DELAYED)
                for message_id in c.execute(pending).scalars()]
    return due


def mark(c: Connection, due: NoticeDue, now: datetime) -> bool:
    """Set *due*'s marker if it is still owed (locks the row); whether this call set it."""
    column, statuses = _MARKERS[due.kind]
    result = c.execute(update(messages).where(
        M.id == due.message_id, M.status.in_(statuses), messages.c[column].is_(None),
        M.notice_of.is_(None)).values({column: now}))
    return result.rowcount == 1
