"""The queue database schema as SQLAlchemy Core tables (SQLite and PostgreSQL alike).

Core ``Table`` objects rather than ORM classes: the store runs explicit,
short transactions (``BEGIN IMMEDIATE``, ``FOR UPDATE SKIP LOCKED``, bulk
UPDATEs) and has no use for a unit of work, and the flush and the management
commands start faster without ``sqlalchemy.orm``.

The Alembic revisions in ``smtpq/migrations/versions`` must produce exactly
this schema; ``tests/queue/store/test_queue_schema.py`` compares them.

Portability choices:
- statuses are short text columns with CHECK constraints (not native ENUM
  types, whose changes PostgreSQL cannot make inside every transaction), and
  their defaults say what a new row is: a message queued, a recipient pending
  (no INSERT names them, and the enqueue path need not know the values);
- times are ``DateTime(timezone=True)``: ``timestamptz`` on PostgreSQL, UTC
  text on SQLite, always aware UTC in Python (``UTCDateTime``);
- the mail is ``message_chunks`` of about 1 MiB (BLOB / bytea) so neither
  engine ever holds a 200 MB value, and it streams both ways.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect

from smtpq.queue.states import MessageStatus
from smtpq.sender.delivery.outcome import RecipientStatus

#: Deterministic constraint names: SQLite batch migrations (table copies) can
#: only drop or alter a constraint that has a name.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on every engine.

    SQLite has no time zones: SQLAlchemy stores the naive text, so convert to
    UTC first and re-attach UTC when reading.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: the queue stores UTC only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _status(enum_class: type[enum.Enum], name: str) -> Enum:
    # Text plus a CHECK constraint: the database refuses a raw string that is not
    # a known status (the stdlib paths write text).
    return Enum(
        enum_class,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=_values,
        validate_strings=True,
    )


def _values(enum_class: Any) -> list[str]:
    return [member.value for member in enum_class]


messages = Table(
    "messages",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("status", _status(MessageStatus, "message_status"), nullable=False,
           server_default=MessageStatus.QUEUED.value),  # a new message is queued
    Column("account", Text, nullable=False),
    Column("config_file", Text),  # the -C file given at enqueue time
    Column("options", Text, nullable=False),  # JSON list of argv strings to re-apply
    Column("envelope_from", Text, nullable=False),  # '' = null sender
    Column("size", BigInteger, nullable=False),  # bytes of the stored mail
    Column("msgid", Text),  # Message-ID header value
    Column("subject", Text),
    Column("created", UTCDateTime, nullable=False),
    Column("queued_at", UTCDateTime, nullable=False),  # max_age counts from here; retry resets it
    Column("next_attempt", UTCDateTime),  # queued: <= now; deferred: end of back-off
    Column("attempts", Integer, nullable=False),  # rows in history
    Column("deferrals", Integer, nullable=False),  # temporary failures: the back-off exponent
    Column("last_exit_code", Integer),
    Column("last_smtp_status", Integer),
    Column("last_smtp_message", Text),
    Column("claimed_by", Text),
    Column("claim_expires", UTCDateTime),  # lease: past it, reclaim_expired requeues
    Column("finished", UTCDateTime),  # sent, failed or expired at
    # PostgreSQL: the key of the claimer's session-level advisory lock (its liveness).
    Column("claim_token", BigInteger),
    Column("notice_of", Integer),  # a delivery status notification about message N
    Column("warned", UTCDateTime),  # the delay warning was queued at
    Column("bounced", UTCDateTime),  # the failure notice was queued at (retry clears it)
    # Flush: due messages are status IN (queued, deferred) AND next_attempt <= now.
    Index(None, "status", "next_attempt"),
    # list: one status, in id order, a page at a time.
    Index(None, "status", "id"),
    # prune_sent / purge --older-than.
    Index(None, "status", "finished"),
    # Never reuse the id of a purged message (SQLite reuses the highest rowid
    # otherwise), so an id in a log or in history always means one mail.
    sqlite_autoincrement=True,
)

recipients = Table(
    "recipients",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("message_id", Integer, ForeignKey("messages.id", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False),  # order in the envelope
    Column("address", Text, nullable=False),
    Column("status", _status(RecipientStatus, "recipient_status"), nullable=False,
           server_default=RecipientStatus.PENDING.value),  # a new recipient is pending
    Column("smtp_status", Integer),
    Column("smtp_message", Text),
    Column("updated", UTCDateTime, nullable=False),
    UniqueConstraint("message_id", "position"),  # also the index for per-message lookups
)

message_chunks = Table(
    "message_chunks",
    metadata,
    Column(
        "message_id",
        Integer,
        ForeignKey("messages.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("data", LargeBinary, nullable=False),
)

attempts = Table(
    "attempts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("message_id", Integer, ForeignKey("messages.id", ondelete="CASCADE"), nullable=False),
    Column("started", UTCDateTime, nullable=False),
    Column("finished", UTCDateTime, nullable=False),
    Column("exit_code", Integer, nullable=False),
    Column("smtp_status", Integer),
    Column("smtp_message", Text),
    Column("log_line", Text, nullable=False),
    Index(None, "message_id", "id"),
)

flush_runs = Table(
    "flush_runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("host", Text, nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started", UTCDateTime, nullable=False),
    Column("finished", UTCDateTime),  # NULL while running (or killed)
    Column("exit_code", Integer),  # the flush's exit status (0, 75, 69, 65, ...)
    Column("sent", Integer, nullable=False),
    Column("deferred", Integer, nullable=False),
    Column("failed", Integer, nullable=False),
    Column("expired", Integer, nullable=False),
    Column("unreachable", Integer, nullable=False),
    Column("last_sent", UTCDateTime),  # the run's last accepted mail
    Column("note", Text),  # e.g. "offline: ..." or "interrupted"
    Index(None, "finished"),
    sqlite_autoincrement=True,
)
