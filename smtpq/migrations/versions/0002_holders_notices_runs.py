"""Held mail, claim liveness, delivery notices and the flush-run journal.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06

- ``messages.status`` may be ``held`` (``smtpq hold``: never sent or expired
  until released);
- ``messages.claim_token``: the key of the claiming worker's session-level
  advisory lock on PostgreSQL (its liveness: the server drops the lock when the
  session dies), NULL on SQLite, where the per-host flush lock proves liveness;
- ``messages.notice_of``: this mail is a delivery status notification (RFC 3464)
  about message N: never itself bounced or warned about;
- ``messages.warned`` / ``messages.bounced``: when the delay warning / the
  failure notice for the message was queued (one each per message and failure);
- ``flush_runs``: one row per flush (who, when, how it ended, counts), for
  ``smtpq status`` and ``smtpq check``.

Frozen like 0001: spelled out here, not imported from ``smtpq.queue.store.sql.models``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_STATUSES = ("queued", "deferred", "sending", "sent", "failed", "expired")
NEW_STATUSES = (*OLD_STATUSES, "held")
CHECK = "ck_messages_message_status"


def _one_of(values: Sequence[str]) -> str:
    return "status IN (" + ", ".join(f"'{value}'" for value in values) + ")"


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    # batch_alter_table: SQLite changes a CHECK constraint by copying the table.
    with op.batch_alter_table("messages", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.drop_constraint(op.f(CHECK), type_="check")
        batch.create_check_constraint(op.f(CHECK), _one_of(NEW_STATUSES))
        batch.add_column(sa.Column("claim_token", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("notice_of", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("warned", _utc(), nullable=True))
        batch.add_column(sa.Column("bounced", _utc(), nullable=True))
    op.create_table(
        "flush_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("host", sa.Text(), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started", _utc(), nullable=False),
        sa.Column("finished", _utc(), nullable=True),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.Column("deferred", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("expired", sa.Integer(), nullable=False),
        sa.Column("unreachable", sa.Integer(), nullable=False),
        sa.Column("last_sent", _utc(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flush_runs")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_flush_runs_finished"), "flush_runs", ["finished"])


def downgrade() -> None:
    op.drop_index(op.f("ix_flush_runs_finished"), table_name="flush_runs")
    op.drop_table("flush_runs")
    op.execute("UPDATE messages SET status = 'queued' WHERE status = 'held'")
    with op.batch_alter_table("messages", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.drop_column("bounced")
        batch.drop_column("warned")
        batch.drop_column("notice_of")
        batch.drop_column("claim_token")
        batch.drop_constraint(op.f(CHECK), type_="check")
        batch.create_check_constraint(op.f(CHECK), _one_of(OLD_STATUSES))
