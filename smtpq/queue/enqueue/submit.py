"""Enqueue one mail into whatever database the settings name, as cheaply as possible.

A plain SQLite file goes through the stdlib path (``enqueue_sqlite``), a
PostgreSQL URL through libpq directly (``enqueue_postgres``, when libpq is
there); anything else (unusual SQLite URLs, other drivers) through the
SQLAlchemy store, imported only then.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (import cost)
if TYPE_CHECKING:
    from datetime import datetime

    from smtpq.queue.new_message import Content, NewMessage


def enqueue_message(database: str, message: NewMessage, content: Content, *,
                    now: datetime | None = None) -> int:
    """Durably store *message* in the queue at *database* (a SQLAlchemy URL); its id."""
    if database.startswith("postgresql"):
        from smtpq.queue.enqueue.postgres import enqueue as enqueue_postgres

        message_id = enqueue_postgres(database, message, content, now=now)
        if message_id is not None:
            return message_id
    else:  # sqlite_file imports sqlite3 (and datetime): not for a PostgreSQL queue
        from smtpq.queue.store.sqlite_file import sqlite_path

        path = sqlite_path(database)
        if path is not None:
            from smtpq.queue.enqueue.sqlite import enqueue

            return enqueue(path, message, content, now=now)
    from smtpq.queue.store.sql.store import open_store

    with open_store(database) as store:
        return store.enqueue(message, content, now=now)
