"""Fixtures for the queue tests: a store per engine, a fixed clock, message factories.

``store`` is parametrised by engine: SQLite in ``tmp_path`` always, and
PostgreSQL at ``$SMTPQ_TEST_POSTGRES_URL`` when that is set (skipped
otherwise), so the contract suite is written once and runs everywhere.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from smtpq.queue.store import QueueStore

ENGINES = ["sqlite", "postgresql"]


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'queue' / 'queue.sqlite3'}"


def _postgres_url() -> str:
    url = os.environ.get("SMTPQ_TEST_POSTGRES_URL", "")
    if not url:
        pytest.skip("SMTPQ_TEST_POSTGRES_URL is not set")
    from smtpq.queue.migrate import downgrade, upgrade

    # A clean schema per test: drop everything the migrations made, then redo it.
    upgrade(url)
    downgrade(url, "base")
    return url


@pytest.fixture(params=ENGINES)
def db_url(request: pytest.FixtureRequest, sqlite_url: str) -> str:
    """A fresh, empty queue database URL for each engine."""
    return sqlite_url if request.param == "sqlite" else _postgres_url()


@pytest.fixture
def store(db_url: str) -> Iterator[QueueStore]:
    from smtpq.queue.sql_store import open_store

    with open_store(db_url) as opened:
        yield opened
