"""Every command works on a PostgreSQL queue named by ``SMTPQ_DATABASE`` or ``database``.

The real programs (``smtpq-sendmail``, ``smtpq``) run against a fresh
database on the session's throw-away PostgreSQL server, and deliver to an
aiosmtpd server on 127.0.0.1: enqueue, the background flush an enqueue
starts, flush, list, show, retry, purge and db.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from smtpq.queue.store.rows import HEAD
from tests.support.queue_home import (  # noqa: F401 - fixtures
    QueueHome,
    SlowHandler,
    header_value,
    queue_home,
    server_at,
    wait_until,
)


@pytest.fixture
def home(queue_home: QueueHome, postgres_url: str) -> Iterator[QueueHome]:
    """A QueueHome whose queue is the PostgreSQL database (via $SMTPQ_DATABASE)."""
    queue_home.url = postgres_url
    queue_home.env["SMTPQ_DATABASE"] = postgres_url
    yield queue_home


def mail(number: int, to: str = "you@example.net") -> bytes:
    return (f"From: me@example.org\nTo: {to}\nSubject: pg {number}\n\nmail {number}\n").encode()


def listing(home: QueueHome, *args: str) -> list[dict]:
    result = home.smtpq("list", "--json", *args)
    assert result.returncode == 0, result.stderr.decode()
    return json.loads(result.stdout)


def statuses(home: QueueHome) -> dict[int, str]:
    return {entry["id"]: entry["status"] for entry in listing(home, "--all")}


def test_db_upgrade_creates_the_schema_and_db_current_reports_it(home: QueueHome):
    # The test server trusts local connections: the password is only there to be hidden.
    home.env["SMTPQ_DATABASE"] = home.url.replace("smtpq@", "smtpq:s3cret-pw@")
    upgraded = home.smtpq("db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr.decode()
    current = home.smtpq("db", "current")
    assert current.returncode == 0, current.stderr.decode()
    assert HEAD in current.stdout.decode()
    for result in (upgraded, current):
        assert b"s3cret-pw" not in result.stdout + result.stderr


def test_enqueue_list_show_flush_on_postgresql(home: QueueHome, server_at):
    server = server_at(handler=SlowHandler())
    home.account(server.port)
    for number in range(3):
        home.sendmail(mail(number))
    queued = listing(home)
    assert [entry["status"] for entry in queued] == ["queued"] * 3
    assert queued[0]["recipients"] == ["you@example.net"]

    shown = home.smtpq("show", str(queued[0]["id"]), "--json")
    assert shown.returncode == 0, shown.stderr.decode()
    assert json.loads(shown.stdout)["recipient_states"][0]["status"] == "pending"
    raw = home.smtpq("show", str(queued[0]["id"]), "--raw")
    assert header_value(raw.stdout, "Subject") == "pg 0"

    home.flush()
    assert sorted(header_value(m.data, "Subject") for m in server.messages) == [
        "pg 0", "pg 1", "pg 2"]
    assert set(statuses(home).values()) == {"sent"}
    detail = json.loads(home.smtpq("show", str(queued[0]["id"]), "--json").stdout)
    assert detail["history"][-1]["exit_code"] == 0


def test_retry_and_purge_on_postgresql(home: QueueHome, server_at):
    handler = SlowHandler(rcpt_replies={"bad@example.net": "550 5.1.1 unknown"})
    server = server_at(handler=handler)
    home.account(server.port)
    home.sendmail(mail(1, to="bad@example.net"))
    home.sendmail(mail(2))
    home.flush()
    by_subject = {entry["id"]: entry["status"] for entry in listing(home, "--all")}
    failed = [i for i, status in by_subject.items() if status == "failed"]
    assert len(failed) == 1 and sorted(by_subject.values()) == ["failed", "sent"]

    handler.rcpt_replies.clear()  # the address exists now
    retried = home.smtpq("retry", str(failed[0]))
    assert retried.returncode == 0, retried.stderr.decode()
    assert statuses(home)[failed[0]] == "queued"
    home.flush()
    assert set(statuses(home).values()) == {"sent"}

    purged = home.smtpq("purge", "--sent", "--yes")
    assert purged.returncode == 0, purged.stderr.decode()
    assert statuses(home) == {}


def test_an_enqueue_starts_a_background_flush_that_delivers_from_postgresql(
        home: QueueHome, server_at):
    server = server_at(handler=SlowHandler())
    home.account(server.port)
    home.configure(after_enqueue="flush")
    home.sendmail(mail(7))
    wait_until(lambda: server.messages, timeout=30, message="the background flush")
    wait_until(lambda: set(statuses(home).values()) == {"sent"}, timeout=30,
               message="the mail to be marked sent")


def test_the_database_may_be_named_in_config_toml(home: QueueHome, server_at):
    server = server_at(handler=SlowHandler())
    home.account(server.port)
    del home.env["SMTPQ_DATABASE"]
    home.configure(database=home.url)
    home.sendmail(mail(1))
    assert [entry["status"] for entry in listing(home)] == ["queued"]
    home.flush()
    assert len(server.messages) == 1


def test_db_check_runs_the_queue_checks_on_postgresql_and_names_a_broken_message(
        home: QueueHome) -> None:
    home.account(9)
    for number in (1, 2):
        home.sendmail(mail(number), "-t")
    sound = home.smtpq("db", "check")
    # A chunk gone (as a careless manual DELETE would leave it): message 2 is not whole.
    from sqlalchemy import create_engine, text

    engine = create_engine(home.url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM message_chunks WHERE message_id = 2"))
    engine.dispose()
    broken = home.smtpq("db", "check")
    recover = home.smtpq("db", "recover")

    assert sound.returncode == 0, sound.stdout + sound.stderr
    assert b"ok (2 messages checked)" in sound.stdout
    assert broken.returncode == 65
    assert broken.stdout.decode().splitlines() == [
        "message 2: content missing: no chunk of its "
        f"{home.detail(2).size} bytes"]
    assert recover.returncode == 64 and b"SQLite" in recover.stderr
