"""The Alembic revision the code expects the database to be at.

Kept in its own tiny module so the stdlib enqueue path can check the schema
without importing Alembic.  ``tests/queue`` fails when this drifts from
Alembic's head in ``smtpq/migrations/versions``.
"""

HEAD = "0003"
