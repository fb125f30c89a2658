"""A flush reads and writes through indexes: no statement scans a whole table.

Issue "Performance" item 6: flush time is linear in the queue (100,000 mails
take at most 12× the time of 10,000), which holds only if no statement a
flush repeats walks the whole ``messages`` (or recipients, chunks, history)
table.  Every statement a real flush issues against SQLite is recorded and
SQLite's own ``EXPLAIN QUERY PLAN`` is asked about it, with its parameters.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from smtpq.queue.flush.flusher import FlushRequest, run_flush
from smtpq.queue.new_message import NewMessage
from smtpq.queue.settings import AfterEnqueue, QueueSettings
from tests.support.queue_home import QueueHome, queue_home, server_at  # noqa: F401 - fixtures

TABLES = ("messages", "recipients", "message_chunks", "attempts")
#: A plan step that reads a table row by row ("SCAN messages"), not through an index.
FULL_SCAN = re.compile(rf"^SCAN ({'|'.join(TABLES)})$")


@pytest.fixture
def statements() -> Iterator[list[tuple[str, object]]]:
    """Every (statement, parameters) any engine executes while the test runs."""
    seen: list[tuple[str, object]] = []

    def record(_conn, _cursor, statement, parameters, _context, executemany) -> None:
        seen.append((statement, parameters[0] if executemany else parameters))

    event.listen(Engine, "before_cursor_execute", record)
    yield seen
    event.remove(Engine, "before_cursor_execute", record)


def full_scans(database: str, executed: list[tuple[str, object]]) -> dict[str, list[str]]:
    """The statements whose plan reads one of ``TABLES`` without an index, with the plan."""
    found: dict[str, list[str]] = {}
    with sqlite3.connect(database) as connection:
        for statement, parameters in executed:
            if not statement.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE", "INSERT")):
                continue
            plan = [row[3] for row in
                    connection.execute(f"EXPLAIN QUERY PLAN {statement}", parameters or ())]
            if any(FULL_SCAN.match(step) for step in plan):
                found[statement] = plan
    return found


def test_no_statement_of_a_flush_scans_a_whole_table(queue_home: QueueHome, server_at,  # noqa: F811
                                                     statements) -> None:
    server = server_at(None)
    queue_home.account(server.port)
    with queue_home.store() as store:
        for n in range(40):  # two claim batches' worth of the statements, with history
            store.enqueue(NewMessage("default", "me@example.org", (f"r{n}@example.net",),
                                     subject=f"m{n}"), [b"Subject: x\r\n\r\nbody\r\n"])
    statements.clear()
    settings = QueueSettings(queue_home.url, after_enqueue=AfterEnqueue.NONE)

    report = run_flush(settings, FlushRequest(), env=queue_home.env)

    assert report.sent == 40 and len(server.messages) == 40
    assert len(statements) > 5  # the flush's statements were seen
    assert full_scans(str(queue_home.database), statements) == {}


def test_the_notice_sweep_reads_through_indexes_too(queue_home: QueueHome, server_at,  # noqa: F811
                                                    statements) -> None:
    from datetime import timedelta

    from tests.support.aiosmtpd_server import RecordingHandler

    server = server_at(handler=RecordingHandler(rcpt_replies={
        "bad@example.net": "550 5.1.1 unknown", "later@example.net": "451 4.7.1 later"}))
    queue_home.account(server.port)
    with queue_home.store() as store:
        for n, to in enumerate(["bad@example.net", "later@example.net", "ok@example.net"] * 5):
            store.enqueue(NewMessage("default", "me@example.org", (to,), subject=f"m{n}"),
                          [b"Subject: x\r\n\r\nbody\r\n"])
    statements.clear()
    # A test of the sweep's statements: every pending mail is owed a warning at once.
    settings = QueueSettings(queue_home.url, after_enqueue=AfterEnqueue.NONE,
                             delay_warning=timedelta(seconds=1))

    run_flush(settings, FlushRequest(), env=queue_home.env)

    assert len([m for m in server.messages if m.mail_from in ("", "<>")]) >= 5  # the bounces
    assert full_scans(str(queue_home.database), statements) == {}
