"""Fixtures for the queue tests: a store per engine, a fixed clock, message factories.

``store`` and ``db_url`` are parametrised by engine, so the contract suite is
written once and runs everywhere:

* ``sqlite``: a fresh file in ``tmp_path``;
* ``postgresql``: a fresh database on a throw-away PostgreSQL cluster that the
  session starts itself (``tests.support.postgres``; skipped when PostgreSQL
  is not installed, a failure when ``CI=true``), or, when
  ``$SMTPQ_TEST_POSTGRES_URL`` is set, that server's database, emptied first.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from smtpq.queue.store.interface import QueueStore
from tests.support.postgres import PostgresCluster, cluster_or_skip
from tests.support.queue_home import QueueHome

ENGINES = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """One PostgreSQL server for the whole session (Unix socket, temp directory)."""
    yield from cluster_or_skip()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'queue' / 'queue.sqlite3'}"


@pytest.fixture
def postgres_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh, empty PostgreSQL database (no schema yet) for one test."""
    external = os.environ.get("SMTPQ_TEST_POSTGRES_URL", "")
    if external:
        yield _emptied(external)
        return
    cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
    url = cluster.new_database()
    yield url
    cluster.drop_database(make_url(url).database or "")


def _emptied(url: str) -> str:
    from smtpq.queue.store.sql.migrate import downgrade, upgrade

    # A clean schema per test: drop everything the migrations made, then redo it.
    upgrade(url)
    downgrade(url, "base")
    return url


@pytest.fixture(params=ENGINES)
def db_url(request: pytest.FixtureRequest, sqlite_url: str) -> str:
    """A fresh, empty queue database URL for each engine."""
    if request.param == "sqlite":
        return sqlite_url
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def store(db_url: str) -> Iterator[QueueStore]:
    from smtpq.queue.store.sql.store import open_store

    with open_store(db_url) as opened:
        yield opened


@pytest.fixture
def other_store(db_url: str, store: QueueStore) -> Iterator[QueueStore]:
    """A second store on the same database: another flusher, on another host."""
    from smtpq.queue.store.sql.store import open_store

    with open_store(db_url, migrate=False) as opened:
        yield opened


@pytest.fixture(params=["sqlite", "postgresql"])
def any_home(request: pytest.FixtureRequest, queue_home: QueueHome) -> QueueHome:
    """A QueueHome on each engine (PostgreSQL: the session's throw-away server)."""
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_url")
        queue_home.url = url
        queue_home.env["SMTPQ_DATABASE"] = url
    return queue_home
