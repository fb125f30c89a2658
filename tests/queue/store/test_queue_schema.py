"""The schema has one source of truth, and every path agrees with it.

- ``rows.HEAD`` is Alembic's head;
- the stdlib INSERTs name exactly the models' columns, but the statuses: the
  schema's defaults make a new message queued and a new recipient pending;
- the migrations build exactly the models' schema (Alembic autogenerate
  finds nothing to do, and on SQLite the DDL text is identical);
- a database holding mail at the first revision upgrades to head losing nothing.
"""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from smtpq.queue.errors import SchemaError
from smtpq.queue.states import MessageStatus
from smtpq.queue.store import rows
from smtpq.queue.store.rows import HEAD, message_row, recipient_rows
from smtpq.queue.store.sql.engine import make_engine
from smtpq.queue.store.sql.migrate import alembic_config, current_revision, downgrade, head_revision, upgrade
from smtpq.queue.store.sql.models import message_chunks, messages, metadata, recipients
from smtpq.queue.store.sql.store import open_store
from smtpq.sender.delivery.outcome import RecipientStatus
from tests.queue.helpers import LEASE, T0, new_message


def _names(table) -> set[str]:
    return {column.name for column in table.columns}


def _defaulted(table) -> set[str]:
    """The columns the database fills when an INSERT leaves them out."""
    return {column.name for column in table.columns if column.server_default is not None}


def _revisions() -> list[str]:
    """Every revision, oldest first."""
    script = ScriptDirectory.from_config(alembic_config())
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


class TestOneSourceOfTruth:
    def test_the_head_constant_is_alembics_head(self):
        assert head_revision() == HEAD

    def test_the_history_is_one_line(self):
        script = ScriptDirectory.from_config(alembic_config())
        assert len(script.get_heads()) == 1
        assert len(script.get_bases()) == 1

    def test_the_schema_fills_in_only_the_statuses_of_new_rows(self):
        assert (_defaulted(messages), _defaulted(recipients)) == ({"status"}, {"status"})
        assert messages.c.status.server_default.arg == MessageStatus.QUEUED
        assert recipients.c.status.server_default.arg == RecipientStatus.PENDING

    def test_the_stdlib_inserts_name_every_model_column_the_schema_does_not_fill(self):
        assert set(rows.MESSAGE_COLUMNS) == _names(messages) - {"id"} - _defaulted(messages)
        assert set(rows.RECIPIENT_COLUMNS) == _names(recipients) - {"id"} - _defaulted(recipients)
        assert set(rows.CHUNK_COLUMNS) == _names(message_chunks)

    def test_the_row_builders_fill_exactly_those_columns(self):
        message = new_message("a@x.test")
        assert set(message_row(message, T0)) == set(rows.MESSAGE_COLUMNS)
        [row] = recipient_rows(1, message, T0)
        assert set(row) == set(rows.RECIPIENT_COLUMNS)


class TestMigrationsBuildTheModels:
    def test_autogenerate_finds_no_difference(self, db_url: str):
        upgrade(db_url)
        engine = make_engine(db_url)
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "compare_server_default": True})
            diffs = compare_metadata(context, metadata)
        engine.dispose()
        assert diffs == []

    def test_on_sqlite_the_ddl_is_identical_to_create_all(self, tmp_path: Path):
        migrated, created = tmp_path / "migrated.db", tmp_path / "created.db"
        upgrade(f"sqlite:///{migrated}")
        engine = make_engine(f"sqlite:///{created}")
        metadata.create_all(engine)
        engine.dispose()
        assert _sqlite_ddl(migrated) == _sqlite_ddl(created)

    def test_downgrade_to_base_and_upgrade_again(self, db_url: str):
        upgrade(db_url)
        downgrade(db_url, "base")
        assert current_revision(db_url) is None
        upgrade(db_url)
        assert current_revision(db_url) == HEAD

    def test_a_revision_this_code_does_not_know_is_refused(self, sqlite_url: str):
        upgrade(sqlite_url)
        path = sqlite_url.removeprefix("sqlite:///")
        with sqlite3.connect(path) as connection:
            connection.execute("UPDATE alembic_version SET version_num = 'beef'")
        with pytest.raises(SchemaError, match="beef"):
            upgrade(sqlite_url)

    def test_migration_connections_do_not_cascade_deletes(self, sqlite_url: str):
        # Batch migrations drop and recreate tables; cascades would eat the queue.
        engine = make_engine(sqlite_url, foreign_keys=False)
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 0
        engine.dispose()


def _sqlite_ddl(path: Path) -> list[tuple[str, str, str | None]]:
    """Every table's and index's DDL, with what a batch migration (a table copy) changes
    and SQLite ignores made alike: the table name stays quoted as SQLite's ALTER TABLE
    RENAME wrote it, and the table constraints come in the order Alembic found them
    (a set's), not as declared."""
    with sqlite3.connect(path) as connection:
        rows = connection.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE tbl_name NOT LIKE 'alembic%'")
        return sorted((kind, name, sql and _canonical(name, sql)) for kind, name, sql in rows)


def _canonical(name: str, sql: str) -> str:
    sql = sql.replace(f'CREATE TABLE "{name}"', f"CREATE TABLE {name}")
    lines = [line.rstrip().removesuffix(",") for line in sql.splitlines()]
    constraints = sorted(line for line in lines if line.lstrip().startswith("CONSTRAINT "))
    return "\n".join([line for line in lines if line not in constraints] + constraints)


# Written against the FIRST revision's schema, frozen: later revisions must
# carry this mail over intact.
FIRST_REVISION_MAIL = [
    "INSERT INTO messages (id, status, account, config_file, options, envelope_from, size,"
    " msgid, subject, created, queued_at, next_attempt, attempts, deferrals)"
    " VALUES (7, 'deferred', 'work', NULL, '[\"-t\"]', 'me@x.test', 11, '<7@x>', 'old',"
    " '2026-02-01 10:00:00.000000', '2026-02-01 10:00:00.000000',"
    " '2026-03-01 11:00:00.000000', 2, 2)",
    "INSERT INTO recipients (message_id, position, address, status, updated)"
    " VALUES (7, 0, 'a@x.test', 'deferred', '2026-02-01 10:00:00.000000')",
    "INSERT INTO message_chunks (message_id, seq, data) VALUES (7, 0, X'68656c6c6f20776f726c64')",
    "INSERT INTO attempts (message_id, started, finished, exit_code, smtp_status, smtp_message,"
    " log_line) VALUES (7, '2026-02-01 10:00:00.000000', '2026-02-01 10:00:01.000000', 69, 451,"
    " '451 later', 'exitcode=EX_UNAVAILABLE')",
]


def test_mail_queued_at_the_first_revision_survives_the_upgrade_to_head(sqlite_url: str):
    first = _revisions()[0]
    upgrade(sqlite_url, first)
    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as connection:
        for statement in FIRST_REVISION_MAIL:
            connection.execute(statement)
    upgrade(sqlite_url)
    with open_store(sqlite_url) as store:
        detail = store.get_message(7)
        assert detail is not None
        assert (detail.status, detail.account, detail.deferrals, detail.attempts) == (
            "deferred", "work", 2, 2)
        assert [a.smtp_status for a in detail.history] == [451]
        with store.open_content(7) as stream:
            assert stream.read() == b"hello world"
        [claimed] = store.claim_due(T0, limit=5, worker_id="w", lease=LEASE)
        assert [r.address for r in claimed.recipients] == ["a@x.test"]
        assert store.enqueue(new_message(), io.BytesIO(b"x"), now=T0) > 7
