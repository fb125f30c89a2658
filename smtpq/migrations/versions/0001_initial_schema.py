"""Initial schema: messages, recipients, message_chunks, attempts.

Revision ID: 0001
Revises:
Create Date: 2026-11-25

Frozen: spelled out here rather than imported from smtpq.queue.store.sql.models, so
that later model changes need (and get) their own revision.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MESSAGE_STATUSES = ("queued", "deferred", "sending", "sent", "failed", "expired")
RECIPIENT_STATUSES = ("pending", "sent", "deferred", "failed")


def _one_of(column: str, values: Sequence[str], name: str) -> sa.CheckConstraint:
    allowed = ", ".join(f"'{value}'" for value in values)
    return sa.CheckConstraint(f"{column} IN ({allowed})", name=op.f(name))


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    _create_messages()
    _create_recipients()
    _create_message_chunks()
    _create_attempts()


def downgrade() -> None:
    # Children first; dropping a table drops its indexes.
    op.drop_table("attempts")
    op.drop_table("message_chunks")
    op.drop_table("recipients")
    op.drop_table("messages")


def _create_messages() -> None:
    op.create_table(
        "messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("account", sa.Text(), nullable=False),
        sa.Column("config_file", sa.Text(), nullable=True),
        sa.Column("options", sa.Text(), nullable=False),
        sa.Column("envelope_from", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("msgid", sa.Text(), nullable=True),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("created", _utc(), nullable=False),
        sa.Column("queued_at", _utc(), nullable=False),
        sa.Column("next_attempt", _utc(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("deferrals", sa.Integer(), nullable=False),
        sa.Column("last_exit_code", sa.Integer(), nullable=True),
        sa.Column("last_smtp_status", sa.Integer(), nullable=True),
        sa.Column("last_smtp_message", sa.Text(), nullable=True),
        sa.Column("claimed_by", sa.Text(), nullable=True),
        sa.Column("claim_expires", _utc(), nullable=True),
        sa.Column("finished", _utc(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
        _one_of("status", MESSAGE_STATUSES, "ck_messages_message_status"),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_messages_status_next_attempt"), "messages", ["status", "next_attempt"])
    op.create_index(op.f("ix_messages_status_id"), "messages", ["status", "id"])
    op.create_index(op.f("ix_messages_status_finished"), "messages", ["status", "finished"])


def _create_recipients() -> None:
    op.create_table(
        "recipients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("smtp_status", sa.Integer(), nullable=True),
        sa.Column("smtp_message", sa.Text(), nullable=True),
        sa.Column("updated", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recipients")),
        sa.UniqueConstraint("message_id", "position", name=op.f("uq_recipients_message_id_position")),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"],
            name=op.f("fk_recipients_message_id_messages"), ondelete="CASCADE",
        ),
        _one_of("status", RECIPIENT_STATUSES, "ck_recipients_recipient_status"),
    )


def _create_message_chunks() -> None:
    op.create_table(
        "message_chunks",
        sa.Column("message_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("message_id", "seq", name=op.f("pk_message_chunks")),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"],
            name=op.f("fk_message_chunks_message_id_messages"), ondelete="CASCADE",
        ),
    )


def _create_attempts() -> None:
    op.create_table(
        "attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("started", _utc(), nullable=False),
        sa.Column("finished", _utc(), nullable=False),
        sa.Column("exit_code", sa.Integer(), nullable=False),
        sa.Column("smtp_status", sa.Integer(), nullable=True),
        sa.Column("smtp_message", sa.Text(), nullable=True),
        sa.Column("log_line", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attempts")),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"],
            name=op.f("fk_attempts_message_id_messages"), ondelete="CASCADE",
        ),
    )
    op.create_index(op.f("ix_attempts_message_id_id"), "attempts", ["message_id", "id"])
