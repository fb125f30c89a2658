"""A throw-away PostgreSQL cluster for the tests (and ``scripts/bench-fleet``).

``PostgresCluster.start()`` runs Debian's (or any) ``initdb`` into a fresh
temporary directory and starts the server with ``pg_ctl``, listening only on
a Unix socket in that directory (``listen_addresses=''``): no port is taken,
nothing outside the machine can reach it, and two clusters never collide.
When running as root, every server program runs as the ``postgres`` user
(PostgreSQL refuses to run as root); the directory is then owned by it.
``stop()`` stops the server (``pg_ctl stop``, then the postmaster's PID) and
removes the directory.

``cluster.new_database()`` creates an empty database and returns its
SQLAlchemy URL (``postgresql+psycopg://smtpq@/NAME?host=SOCKET_DIR``).

``postgres_cluster`` (session fixture, see ``tests/queue/conftest.py``) skips
when the binaries or the ``psycopg`` driver are missing, and fails instead
when ``CI=true``: CI must run the PostgreSQL half of the contract.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from typing import Any

SUPERUSER = "smtpq"
#: Settings for a test server: durability off (a crash loses a test run, nothing else).
FAST = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")


def pg_bindir() -> str | None:
    """The directory holding ``initdb``/``pg_ctl``: on PATH, else Debian's newest version."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return os.path.dirname(os.path.realpath(found))
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                        key=lambda path: int(path.split("/")[4]) if path.split("/")[4].isdigit() else 0)
    return os.path.dirname(candidates[-1]) if candidates else None


def missing() -> str | None:
    """Why no cluster can be started here (None: it can)."""
    if pg_bindir() is None:
        return "PostgreSQL server binaries (Debian package postgresql) are not installed"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "the psycopg driver is not installed (pip install 'psycopg[binary]')"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root, but there is no postgres user to run the server as"
    return None


class PostgresCluster:
    """One PostgreSQL server on a Unix socket in its own temporary directory."""

    def __init__(self, *, settings: Sequence[str] = FAST, prefix: str = "smtpq-pg-") -> None:
        bindir = pg_bindir()
        if bindir is None:
            raise RuntimeError("PostgreSQL binaries not found")
        self.bindir = bindir
        self.settings = tuple(settings)
        # Not under pytest's tmp_path: that is 0700 root, and the server runs as postgres.
        self.root = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
        self.data = os.path.join(self.root, "data")
        self.socket_dir = self.root
        self.log = os.path.join(self.root, "server.log")
        self._user = _server_user()
        self._names = itertools.count(1)
        self.pid: int | None = None

    # -- life cycle -------------------------------------------------------------

    def start(self) -> PostgresCluster:
        if self._user is not None:
            os.chown(self.root, self._user.pw_uid, self._user.pw_gid)
        os.chmod(self.root, 0o755)  # root (the tests) must reach the socket
        self._run("initdb", "-D", self.data, "-U", SUPERUSER, "--auth=trust",
                  "-E", "UTF8", "--locale=C", "--no-sync")
        options = " ".join([f"-k {self.socket_dir}", "-c listen_addresses=''",
                            *(f"-c {setting}" for setting in self.settings)])
        try:
            self._run("pg_ctl", "start", "-D", self.data, "-l", self.log, "-w", "-t", "60",
                      "-o", options)
        except subprocess.CalledProcessError as error:
            raise RuntimeError(f"PostgreSQL did not start: {error.stderr}\n{self.server_log()}") from None
        self.pid = self._postmaster_pid()
        return self

    def stop(self) -> None:
        """Stop the server and remove its directory (safe to call twice)."""
        if self.pid is not None:
            try:
                self._run("pg_ctl", "stop", "-D", self.data, "-m", "fast", "-w", "-t", "30")
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
                _kill(self.pid)
            self.pid = None
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PostgresCluster:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # -- databases -------------------------------------------------------------

    def url(self, database: str = "postgres", driver: str = "postgresql+psycopg") -> str:
        return f"{driver}://{SUPERUSER}@/{database}?host={self.socket_dir}"

    def new_database(self, name: str | None = None) -> str:
        """A new, empty database; its SQLAlchemy URL."""
        name = name or f"test_{os.getpid()}_{next(self._names)}"
        self.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def execute(self, sql: str, database: str = "postgres") -> list[tuple[Any, ...]]:
        """Run one statement in autocommit mode (CREATE DATABASE needs it); its rows."""
        import psycopg

        with psycopg.connect(host=self.socket_dir, user=SUPERUSER, dbname=database,
                             autocommit=True) as connection:
            cursor = connection.execute(sql.encode())
            return cursor.fetchall() if cursor.description else []

    def server_log(self) -> str:
        try:
            with open(self.log, encoding="utf-8", errors="replace") as stream:
                return stream.read()[-4000:]
        except OSError:
            return ""

    # -- helpers -----------------------------------------------------------------

    def _run(self, program: str, *args: str) -> subprocess.CompletedProcess[str]:
        argv = [os.path.join(self.bindir, program), *args]
        extra: dict[str, Any] = {}
        if self._user is not None:
            extra = {"user": self._user.pw_uid, "group": self._user.pw_gid, "extra_groups": []}
        return subprocess.run(argv, check=True, capture_output=True, text=True, timeout=120,
                              cwd=self.root, env=_server_env(self._user), **extra)

    def _postmaster_pid(self) -> int | None:
        try:
            with open(os.path.join(self.data, "postmaster.pid"), encoding="ascii") as stream:
                return int(stream.readline())
        except (OSError, ValueError):
            return None


def _server_user() -> pwd.struct_passwd | None:
    """The user the server programs run as: ``postgres`` when we are root, else ourselves."""
    return pwd.getpwnam("postgres") if os.geteuid() == 0 else None


def _server_env(user: pwd.struct_passwd | None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    env.update(LC_ALL="C", LANG="C")
    if user is not None:
        env.update(HOME=user.pw_dir, USER=user.pw_name, LOGNAME=user.pw_name)
    return env


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGQUIT)  # immediate shutdown
        for _ in range(100):
            os.kill(pid, 0)
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def cluster_or_skip() -> Iterator[PostgresCluster]:
    """Body of the session fixture: skip (fail in CI) when no cluster can be had."""
    import pytest

    from tests.support.programs import needs

    reason = missing()
    needs(reason is None, f"needs PostgreSQL: {reason}")
    cluster = PostgresCluster()
    try:
        cluster.start()
    except (RuntimeError, OSError, subprocess.SubprocessError) as error:
        cluster.stop()
        pytest.fail(f"cannot start a PostgreSQL test cluster: {error}")
    try:
        yield cluster
    finally:
        cluster.stop()
