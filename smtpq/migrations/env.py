"""Alembic environment: how smtpq's migrations connect and run.

The database comes from ``config.attributes["connection"]`` (an open
connection, used as is), else ``config.attributes["url"]``, else the
``sqlalchemy.url`` option.  On SQLite the engine is smtpq's own
(``BEGIN IMMEDIATE``, durable pragmas) with foreign keys off, and migrations
run as one transaction (pysqlite supports transactional DDL once the driver
is in autocommit mode, which ``smtpq.queue.store.sql.engine`` arranges).

On PostgreSQL the migrations run in one transaction too (its DDL is
transactional), which first takes a transaction-scoped advisory lock: flush
workers on several hosts that find a new database at once upgrade it one
after the other, and Alembic reads the current revision only once it holds
the lock, so the later ones find the work done.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import URL, Connection

from smtpq.queue.store.sql.engine import make_engine
from smtpq.queue.store.sql.models import metadata

config = context.config

#: ``pg_advisory_xact_lock`` key of smtpq's migrations (any constant bigint; "smtpq-mi").
MIGRATION_LOCK = 0x736D7470712D6D69


def _url() -> str | URL:
    url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database URL given to the smtpq migrations")
    return url


def _run(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=sqlite,
        transactional_ddl=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    """``--sql`` mode: print the SQL instead of running it."""
    url = _url()
    if isinstance(url, URL):
        url = url.render_as_string(hide_password=False)
    context.configure(
        url=url,
        target_metadata=metadata,
        literal_binds=True,
        render_as_batch=url.startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    # Foreign keys off: see smtpq.queue.store.sql.engine._on_connect.
    engine = make_engine(_url(), foreign_keys=False)
    try:
        with engine.connect() as connection:
            if connection.dialect.name == "postgresql":
                # Alembic joins a transaction already begun and leaves its commit to us.
                with connection.begin():
                    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                                       {"key": MIGRATION_LOCK})
                    _run(connection)
            else:
                _run(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
