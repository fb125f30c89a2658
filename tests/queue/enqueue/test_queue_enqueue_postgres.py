"""The libpq enqueue path into PostgreSQL: the store's rows, atomic, schema-checked, light.

``smtpq-sendmail`` into a PostgreSQL queue writes through libpq directly
(``smtpq.queue.enqueue.postgres``), never importing SQLAlchemy, Alembic or
psycopg; what it writes must be exactly what the store writes.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import select, text

from smtpq.queue.enqueue import postgres as enqueue_postgres
from smtpq.queue.enqueue.submit import enqueue_message
from smtpq.queue.errors import SchemaError, StoreError
from smtpq.queue.store.rows import CHUNK_SIZE
from smtpq.queue.store.sql.models import message_chunks, messages, recipients
from smtpq.queue.store.sql.store import open_store
from smtpq.sender.sysexits import ExitCode
from tests.queue.helpers import T0, mail, new_message
from tests.support.per_mail import ENQUEUE_POSTGRES, NOTHING, run_path


@pytest.fixture
def migrated(postgres_url: str) -> str:
    with open_store(postgres_url):
        pass
    return postgres_url


def rows_of(url: str, message_id: int) -> tuple[dict, list, list]:
    with open_store(url, migrate=False) as store, store._engine.connect() as c:  # noqa: SLF001
        message = dict(c.execute(select(messages).where(messages.c.id == message_id))
                       .mappings().one())
        people = [dict(r) for r in c.execute(select(recipients).where(
            recipients.c.message_id == message_id).order_by(recipients.c.position)).mappings()]
        chunks = list(c.execute(select(message_chunks.c.seq, message_chunks.c.data).where(
            message_chunks.c.message_id == message_id).order_by(message_chunks.c.seq)))
    for row in (message, *people):
        row.pop("id")
        row.pop("message_id", None)
    return message, people, chunks


def test_a_fresh_database_is_created_and_the_mail_reads_back_through_the_store(
        postgres_url: str):
    body = mail(CHUNK_SIZE * 2 + 99, seed=3)
    message = new_message("a@x.test", "b@x.test", msgid="<m@x>", subject="Hi ✓")
    message_id = enqueue_postgres.enqueue(postgres_url, message, io.BytesIO(body), now=T0)
    assert message_id is not None
    with open_store(postgres_url, migrate=False) as store:
        detail = store.get_message(message_id)
        with store.open_content(message_id) as stream:
            assert stream.read() == body
    assert detail is not None
    assert (detail.recipients, detail.msgid, detail.subject) == (
        ("a@x.test", "b@x.test"), "<m@x>", "Hi ✓")
    assert (detail.created, detail.queued_at, detail.size) == (T0, T0, len(body))
    assert detail.options == ("-t", "-i")


def test_both_enqueue_paths_store_identical_rows(migrated: str):
    message = new_message("a@x.test", "b@x.test", subject="same", options=("-C", "/rc", "-t"))
    fast = enqueue_postgres.enqueue(migrated, message, io.BytesIO(b"mail"), now=T0)
    assert fast is not None
    with open_store(migrated, migrate=False) as store:
        slow = store.enqueue(message, io.BytesIO(b"mail"), now=T0)
    assert rows_of(migrated, fast) == rows_of(migrated, slow)


def test_without_a_time_given_the_stamp_is_now_in_utc(migrated: str):
    with open_store(migrated, migrate=False) as store, store._engine.connect() as c:  # noqa: SLF001
        before = c.execute(text("SELECT now()")).scalar_one()
    message_id = enqueue_postgres.enqueue(migrated, new_message(), io.BytesIO(b"x"))
    assert message_id is not None
    created = rows_of(migrated, message_id)[0]["created"]
    assert created.utcoffset().total_seconds() == 0
    assert abs((created - before).total_seconds()) < 60


def test_a_failure_while_reading_the_mail_leaves_nothing_behind(migrated: str):
    def broken():
        yield b"x" * (CHUNK_SIZE + 1)
        raise OSError("read error")

    with pytest.raises(OSError, match="read error"):
        enqueue_postgres.enqueue(migrated, new_message(), broken())
    with open_store(migrated, migrate=False) as store:
        assert store.list_messages() == []


def test_a_database_from_a_newer_smtpq_is_refused_untouched(migrated: str):
    with open_store(migrated, migrate=False) as store, store._engine.begin() as c:  # noqa: SLF001
        c.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(SchemaError):
        enqueue_postgres.enqueue(migrated, new_message(), io.BytesIO(b"x"))
    with open_store(migrated, migrate=False) as store:
        assert store.list_messages() == []


def test_an_unreachable_server_is_ex_tempfail_and_the_password_is_never_shown(tmp_path: Path):
    url = f"postgresql://smtpq:s3cret-pw@/queue?host={tmp_path}"  # no server listens there
    with pytest.raises(StoreError) as caught:
        enqueue_message(url, new_message(), io.BytesIO(b"x"))
    assert caught.value.exit_code == ExitCode.EX_TEMPFAIL
    assert "s3cret-pw" not in caught.value.message
    assert "postgresql://smtpq:***@/queue" in caught.value.message


@pytest.mark.parametrize(("url", "uri"), [
    ("postgresql://u@db/q", "postgresql://u@db/q"),
    ("postgresql+psycopg://u@/q?host=/run/pg", "postgresql://u@/q?host=/run/pg"),
    ("postgresql+pg8000://u@db/q", None),
    ("sqlite:////tmp/q.sqlite3", None),
])
def test_only_libpq_urls_take_the_libpq_path(url: str, uri: str | None):
    assert enqueue_postgres.libpq_uri(url) == uri


@pytest.mark.parametrize(("url", "shown"), [
    ("postgresql://u:pw@db:5432/q?sslmode=require", "postgresql://u:***@db:5432/q?sslmode=require"),
    ("postgresql://u@db/q", "postgresql://u@db/q"),
    ("postgresql://u:p@ss@db/q", "postgresql://u:***@db/q"),
])
def test_urls_are_shown_without_their_password(url: str, shown: str):
    assert enqueue_postgres.printable(url) == shown


def test_the_sendmail_enqueue_into_postgresql_loads_only_its_listed_modules(
        migrated: str, tmp_path: Path):
    home = tmp_path / "home"
    (home / ".config" / "smtpq").mkdir(parents=True)
    (home / ".config" / "smtpq" / "config.toml").write_text('[queue]\nafter_enqueue = "none"\n')
    (home / ".msmtprc").write_text("account default\nhost 127.0.0.1\nport 9\nfrom a@x.test\n")
    code, loaded = run_path(["-t", "-i"], b"To: b@x.test\nSubject: s\n\nbody\n",
                            {"HOME": str(home), "SMTPQ_DATABASE": migrated})
    assert code == 0
    assert ENQUEUE_POSTGRES.surprises(loaded) == NOTHING
    with open_store(migrated, migrate=False) as store:
        [queued] = store.list_messages()
    assert queued.recipients == ("b@x.test",)
