"""Alembic environment and revisions of the queue database (run by ``smtpq.queue.store.sql.migrate``).

One history serves SQLite and PostgreSQL: revisions use portable types and
``op.batch_alter_table`` (SQLite cannot ALTER most things, so batch mode
copies the table).  Revisions are frozen snapshots: they spell out their
columns instead of importing ``smtpq.queue.store.sql.models``.
"""
