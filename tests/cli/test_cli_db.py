"""``smtpq db current`` / ``smtpq db upgrade``: the queue database's schema revision (Alembic)."""

from __future__ import annotations

from pathlib import Path

from smtpq.queue.control.manage import printable_url
from smtpq.queue.store.sql.migrate import head_revision
from tests.cli.cli_support import QueueBuilder, queue, smtpq  # noqa: F401 - the queue fixture


def database_file(queue: QueueBuilder) -> Path:
    return Path(queue.url.removeprefix("sqlite:///"))


class TestCurrent:
    def test_without_a_database_says_none_and_creates_nothing(self, queue: QueueBuilder):
        result = smtpq("db", "current")
        assert result.exit_code == 0
        assert result.stdout.splitlines() == [
            f"database: {queue.url}",
            "current:  none (no queue yet; smtpq db upgrade creates it)",
            f"head:     {head_revision()}",
        ]
        assert not database_file(queue).exists()

    def test_a_queue_in_use_is_at_head(self, queue: QueueBuilder):
        queue.queued()
        lines = smtpq("db", "current").stdout.splitlines()
        assert lines[1] == f"current:  {head_revision()} (head)"

    def test_a_password_in_a_database_url_is_never_shown(self):
        assert printable_url("postgresql://smtpq:s3cret@db.example/queue") == (
            "postgresql://smtpq:***@db.example/queue")


class TestUpgrade:
    def test_creates_the_database_at_head(self, queue: QueueBuilder):
        result = smtpq("db", "upgrade")
        assert result.exit_code == 0
        assert result.stdout == f"upgraded {queue.url} from none to {head_revision()}\n"
        assert database_file(queue).exists()
        assert smtpq("db", "current").stdout.splitlines()[1] == f"current:  {head_revision()} (head)"

    def test_a_database_at_head_is_left_alone(self, queue: QueueBuilder):
        queue.queued()
        result = smtpq("db", "upgrade")
        assert result.stdout == f"{queue.url} is at revision {head_revision()} (head); nothing to do\n"
        assert smtpq("list", "--json").stdout.count('"id"') == 1

    def test_a_database_that_cannot_be_created_is_an_error_with_a_sysexits_code(
            self, queue: QueueBuilder, tmp_path: Path, monkeypatch):
        (tmp_path / "file").write_text("not a directory")
        monkeypatch.setenv("SMTPQ_DATABASE", f"sqlite:///{tmp_path / 'file' / 'queue.sqlite3'}")
        result = smtpq("db", "upgrade")
        assert result.exit_code == 73  # EX_CANTCREAT
        assert result.stderr.startswith("smtpq: cannot create the queue database ")


def test_db_alone_prints_its_help(queue: QueueBuilder):
    result = smtpq("db")
    assert result.exit_code == 0 and "upgrade" in result.stdout and "current" in result.stdout
