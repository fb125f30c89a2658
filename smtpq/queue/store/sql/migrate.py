"""Alembic, driven from code: the migrations ship inside the package, no alembic.ini on disk.

Used by ``smtpq db upgrade``/``smtpq db current``, by the store when it opens
a database, and once by the stdlib enqueue path when it finds a missing or
older schema.  Concurrent first uses are safe: on SQLite the whole upgrade
runs in one ``BEGIN IMMEDIATE`` transaction, and Alembic reads the current
revision inside it, so the second process finds the work done.
"""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Engine
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError

from smtpq.queue.errors import SchemaError, database_error
from smtpq.queue.store.sql.engine import READ_ONLY, make_engine
from smtpq.queue.store.sql.space import make_incremental

#: ``package:directory``: found wherever smtpq is installed.
SCRIPT_LOCATION = "smtpq:migrations"


def alembic_config(url: str | URL | None = None) -> Config:
    """An Alembic ``Config`` for smtpq's migrations; *url* is the database to act on."""
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    if url is not None:
        # Passed as an attribute, not an ini option: no %-interpolation of the
        # URL, and a PostgreSQL password never lands in a config object's text.
        config.attributes["url"] = url
    return config


def head_revision() -> str:
    """The newest revision the migrations define."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "smtpq/migrations/versions is empty"
    return head


def current_revision(url: str | URL) -> str | None:
    """The revision the database at *url* is at (None: not created yet)."""
    engine = make_engine(url)
    try:
        return _current(engine)
    finally:
        engine.dispose()


def upgrade(url: str | URL, revision: str = "head") -> None:
    """Bring the database at *url* to *revision*; refuses a revision it does not know.

    Raises ``StoreError`` (``SchemaError`` for an unknown revision) on failure.
    """
    config = alembic_config(url)
    engine = make_engine(url)
    try:
        _refuse_unknown(config, _current(engine), url)
        counter = _id_counter(engine)
        # Before the tables exist (or while the file is small): disk space given
        # back after purges needs incremental auto_vacuum (smtpq.queue.store.sql.space).
        make_incremental(engine)
        command.upgrade(config, revision)
        _keep_id_counter(engine, counter)
    except DBAPIError as error:
        raise database_error(error, _printable(url)) from None
    finally:
        engine.dispose()


def downgrade(url: str | URL, revision: str) -> None:
    """Take the database at *url* back to *revision* (``"base"``: drop everything)."""
    engine = make_engine(url)
    try:
        counter = _id_counter(engine)
        command.downgrade(alembic_config(url), revision)
        if revision != "base":
            _keep_id_counter(engine, counter)
    finally:
        engine.dispose()


def upgrade_sqlite_file(path: str) -> None:
    """``upgrade`` for a SQLite file named by path (the stdlib enqueue path's fallback)."""
    upgrade(URL.create("sqlite", database=path))


_COUNTER = "SELECT MAX(seq) FROM sqlite_sequence WHERE name = 'messages'"


def _id_counter(engine: Engine) -> int | None:
    """SQLite's AUTOINCREMENT counter of message ids (None: not SQLite, or no table yet)."""
    if engine.dialect.name != "sqlite":
        return None
    with engine.connect() as connection, connection.begin():
        if not connection.exec_driver_sql(
                "SELECT 1 FROM sqlite_schema WHERE name = 'sqlite_sequence'").first():
            return None
        value = connection.exec_driver_sql(_COUNTER).scalar()
    return int(value) if value else None


def _keep_id_counter(engine: Engine, before: int | None) -> None:
    """Give the counter back what a table copy took from it.

    A batch migration (SQLite's way to change a constraint) copies
    ``messages`` into a new table whose counter starts from its highest *row*,
    so the ids of purged newest messages would be handed out again and the
    queue marker would see the counter go back (``store.marker``).
    """
    if before is None:
        return
    with engine.begin() as connection:
        after = connection.exec_driver_sql(_COUNTER).scalar() or 0
        if after < before:
            connection.exec_driver_sql("DELETE FROM sqlite_sequence WHERE name = 'messages'")
            connection.exec_driver_sql(
                f"INSERT INTO sqlite_sequence (name, seq) VALUES ('messages', {int(before)})")


def _current(engine: Engine) -> str | None:
    with engine.connect() as connection:
        connection = connection.execution_options(**READ_ONLY)
        with connection.begin():
            return MigrationContext.configure(connection).get_current_revision()


def _refuse_unknown(config: Config, current: str | None, url: str | URL) -> None:
    if current is None:
        return
    try:
        ScriptDirectory.from_config(config).get_revision(current)
    except CommandError:
        raise SchemaError(
            f"the queue database {_printable(url)} is at schema revision {current}, "
            "which this version of smtpq does not know (was it written by a newer smtpq?)"
        ) from None


def _printable(url: str | URL) -> str:
    """*url* for a message: never with its password."""
    return make_url(url).render_as_string(hide_password=True)
