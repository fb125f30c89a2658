"""New rows' statuses as schema defaults: a message is queued, a recipient pending.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06

``messages.status`` defaults to ``queued`` and ``recipients.status`` to
``pending``, so no INSERT names them: what a new message is, is said once, by
the schema, and the per-mail enqueue paths spell no status.  Existing rows are
untouched.

Frozen like 0001: spelled out here, not imported from ``smtpq.queue.store.sql.models``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Each table's new status default.
DEFAULTS = {"messages": "queued", "recipients": "pending"}
#: The tables' options a SQLite batch copy must keep.
TABLE_KWARGS: dict[str, dict[str, object]] = {
    "messages": {"sqlite_autoincrement": True}, "recipients": {}}


def _set_default(table: str, default: str | None) -> None:
    # batch_alter_table: SQLite changes a column default by copying the table;
    # PostgreSQL alters it in place (ALTER COLUMN … SET DEFAULT, no rewrite).
    with op.batch_alter_table(table, table_kwargs=TABLE_KWARGS[table]) as batch:
        batch.alter_column("status", existing_type=sa.String(16), existing_nullable=False,
                           server_default=default)


def upgrade() -> None:
    for table, default in DEFAULTS.items():
        _set_default(table, default)


def downgrade() -> None:
    for table in reversed(DEFAULTS):
        _set_default(table, None)
