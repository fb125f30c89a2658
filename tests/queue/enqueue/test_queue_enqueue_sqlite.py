"""The stdlib enqueue path: durable, private, atomic, concurrent, and light to import."""

from __future__ import annotations

import io
import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from smtpq.queue.enqueue import sqlite as enqueue_sqlite
from smtpq.queue.enqueue.submit import enqueue_message
from smtpq.queue.errors import SchemaError, StoreError
from smtpq.queue.store.rows import CHUNK_SIZE
from smtpq.queue.store.sql.migrate import upgrade_sqlite_file
from smtpq.queue.store.sql.store import open_store
from smtpq.queue.store.sqlite_file import sqlite_path
from smtpq.sender.sysexits import ExitCode
from tests.queue.helpers import T0, mail, new_message
from tests.support import per_mail
from tests.support.other_user import nobody


@pytest.fixture
def db_path(tmp_path: Path) -> str:
    return str(tmp_path / "data" / "smtpq" / "queue.sqlite3")


@pytest.fixture
def migrated(db_path: str) -> str:
    upgrade_sqlite_file(db_path)
    return db_path


def run_python(code: str, *args: str, stdin: bytes = b"", **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], input=stdin,
                          capture_output=True, timeout=120, check=False, **kwargs)


def counts(path: str) -> tuple[int, int, int]:
    with sqlite3.connect(path) as connection:
        return tuple(connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                     for table in ("messages", "recipients", "message_chunks"))


# -- what it stores --------------------------------------------------------------


def test_a_fresh_database_is_created_and_the_mail_reads_back_through_the_store(db_path: str):
    body = mail(CHUNK_SIZE * 2 + 99, seed=3)
    message = new_message("a@x.test", "b@x.test", msgid="<m@x>", subject="Hi")
    message_id = enqueue_sqlite.enqueue(db_path, message, io.BytesIO(body), now=T0)
    with open_store(f"sqlite:///{db_path}") as store:
        detail = store.get_message(message_id)
        with store.open_content(message_id) as stream:
            assert stream.read() == body
    assert detail is not None
    assert (detail.recipients, detail.msgid, detail.subject) == (("a@x.test", "b@x.test"), "<m@x>", "Hi")
    assert (detail.created, detail.queued_at, detail.size) == (T0, T0, len(body))
    assert detail.options == ("-t", "-i")


def test_both_enqueue_paths_store_identical_rows(migrated: str):
    message = new_message("a@x.test", subject="same")
    fast = enqueue_sqlite.enqueue(migrated, message, io.BytesIO(b"mail"), now=T0)
    with open_store(f"sqlite:///{migrated}") as store:
        slow = store.enqueue(message, io.BytesIO(b"mail"), now=T0)
    with sqlite3.connect(migrated) as connection:
        rows = {row[0]: row[1:] for row in connection.execute("SELECT * FROM messages")}
        recipients = connection.execute(
            "SELECT message_id, position, address, status, updated FROM recipients").fetchall()
    assert rows[fast] == rows[slow]
    assert [r[1:] for r in recipients if r[0] == fast] == [r[1:] for r in recipients if r[0] == slow]


def test_argv_bytes_that_are_not_utf8_survive_and_a_bad_subject_is_tamed(migrated: str):
    options = ("-t", "--from=" + os.fsdecode(b"\xff@x.test"))  # a lone surrogate
    message = new_message(options=options, subject=os.fsdecode(b"caf\xe9"))
    message_id = enqueue_sqlite.enqueue(migrated, message, io.BytesIO(b"x"), now=T0)
    with open_store(f"sqlite:///{migrated}") as store:
        detail = store.get_message(message_id)
    assert detail is not None
    assert detail.options == options
    assert detail.subject == "caf?"


def test_a_failure_while_reading_the_mail_leaves_nothing_behind(migrated: str):
    def pieces() -> Iterator[bytes]:
        yield b"x" * (CHUNK_SIZE + 10)
        raise OSError("stdin went away")

    with pytest.raises(OSError):
        enqueue_sqlite.enqueue(migrated, new_message(), pieces(), now=T0)
    assert counts(migrated) == (0, 0, 0)


def test_a_database_from_a_newer_smtpq_is_refused_untouched(migrated: str):
    with sqlite3.connect(migrated) as connection:
        connection.execute("UPDATE alembic_version SET version_num = 'f00d'")
    with pytest.raises(SchemaError) as caught:
        enqueue_sqlite.enqueue(migrated, new_message(), io.BytesIO(b"x"), now=T0)
    assert "f00d" in caught.value.message
    assert counts(migrated) == (0, 0, 0)


# -- durability settings -----------------------------------------------------------


def test_the_enqueue_connection_is_wal_with_synchronous_full(migrated: str, monkeypatch):
    seen = []
    real_connect = enqueue_sqlite.connect

    def spying_connect(path: str) -> sqlite3.Connection:
        connection = real_connect(path)
        seen.append(tuple(connection.execute(f"PRAGMA {name}").fetchone()[0] for name in
                          ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")))
        return connection

    monkeypatch.setattr(enqueue_sqlite, "connect", spying_connect)
    enqueue_sqlite.enqueue(migrated, new_message(), io.BytesIO(b"x"), now=T0)
    assert seen == [("wal", 2, 1, 30000)]


def test_store_connections_are_wal_with_synchronous_full(migrated: str):
    from smtpq.queue.store.sql.engine import make_engine

    engine = make_engine(f"sqlite:///{migrated}")
    with engine.connect() as connection:
        values = [connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                  for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")]
    engine.dispose()
    assert values == ["wal", 2, 1, 30000]


# -- import hygiene --------------------------------------------------------------


def test_enqueueing_imports_none_of_the_libraries(migrated: str):
    result = run_python("""
        import sys
        from smtpq.queue.settings import load_settings
        from smtpq.queue.enqueue.submit import enqueue_message
        from smtpq.queue.new_message import NewMessage
        settings = load_settings()
        message = NewMessage(account="default", envelope_from="me@x", recipients=("you@x",))
        print(enqueue_message(settings.database, message, sys.stdin.buffer))
        print(",".join(sys.modules))
        """, stdin=b"Subject: x\r\n\r\nbody\r\n",
        env={**os.environ, "SMTPQ_DATABASE": f"sqlite:///{migrated}",
             "SMTPQ_CONFIG": os.devnull})
    assert result.returncode == 0, result.stderr
    message_id, loaded = result.stdout.decode().splitlines()
    assert [name for name in loaded.split(",") if name.split(".")[0] in per_mail.LIBRARIES] == []
    assert counts(migrated) == (1, 1, 1) and message_id == "1"


def queue_home(tmp_path: Path, after_enqueue: str, msmtprc: str) -> Path:
    """A home with smtpq's config.toml, an msmtprc and a migrated SQLite queue."""
    home = tmp_path / "home"
    (home / ".config" / "smtpq").mkdir(parents=True)
    (home / ".config" / "smtpq" / "config.toml").write_text(
        f'[queue]\nafter_enqueue = "{after_enqueue}"\n')
    (home / ".msmtprc").write_text(msmtprc)
    upgrade_sqlite_file(str(home / ".local" / "share" / "smtpq" / "queue.sqlite3"))  # not new
    return home


ONE_ACCOUNT = "account default\nhost 127.0.0.1\nport 9\nfrom a@x.test\n"
#: ``-f`` looks for the account whose ``from`` matches it (a pattern here: none does),
#: and ``domain`` has a ``%H`` to substitute (``$HOSTNAME``: no ``socket`` needed).
ACCOUNT_BY_FROM = ("defaults\ndomain %H\n\n"
                  "account work\nhost 127.0.0.1\nport 9\nfrom *@work.test\n\n"
                  "account default\nhost 127.0.0.1\nport 9\nfrom a@x.test\n")


@pytest.mark.parametrize(("path", "after_enqueue", "msmtprc", "options"), [
    (per_mail.ENQUEUE_SQLITE, "none", ONE_ACCOUNT, []),
    (per_mail.ENQUEUE_SQLITE_THEN_FLUSH, "flush", ONE_ACCOUNT, []),
    (per_mail.ENQUEUE_ACCOUNT_BY_FROM, "none", ACCOUNT_BY_FROM, ["-f", "bob@x.test"]),
], ids=["none", "flush", "account-by-from"])
def test_the_sendmail_enqueue_loads_only_its_listed_modules(
        tmp_path: Path, path: per_mail.PerMailPath, after_enqueue: str, msmtprc: str,
        options: list[str]):
    home = queue_home(tmp_path, after_enqueue, msmtprc)
    code, loaded = per_mail.run_path([*options, "-t", "-i"], b"To: b@x.test\nSubject: s\n\nbody\n",
                                     {"HOME": str(home), "HOSTNAME": "box.x.test"})
    assert code == 0
    assert path.surprises(loaded) == per_mail.NOTHING
    with sqlite3.connect(home / ".local" / "share" / "smtpq" / "queue.sqlite3") as connection:
        assert connection.execute("SELECT count(*) FROM messages").fetchone() == (1,)


def test_the_enqueue_paths_stand_ins_equal_what_they_stand_for():
    # The enqueue path spells this without the module that defines it (datetime's
    # timedelta, read only by the flush): they must agree.
    import datetime

    from smtpq.queue import settings

    assert settings.timedelta_of(60) == datetime.timedelta(minutes=1)


def test_timestamps_written_without_datetime_read_as_datetime_writes_them():
    from datetime import UTC, datetime

    from smtpq.queue.store.rows import utc_now_text
    from smtpq.queue.store.sqlite_file import TIMESTAMP_FORMAT, to_timestamp

    before = to_timestamp(datetime.now(UTC))
    text = utc_now_text()
    after = to_timestamp(datetime.now(UTC))
    assert before <= text <= after
    assert datetime.strptime(text, TIMESTAMP_FORMAT).strftime(TIMESTAMP_FORMAT) == text


# -- privacy ----------------------------------------------------------------------

PERMISSIONS = """
    import io, json, os, sqlite3, sys
    from smtpq.queue.new_message import NewMessage
    os.umask(0)
    base, via = sys.argv[1], sys.argv[2]
    path = os.path.join(base, "a", "b", "queue.sqlite3")
    message = NewMessage(account="d", envelope_from="", recipients=("r@x",))
    def enqueue():
        if via == "fast":
            from smtpq.queue.enqueue.sqlite import enqueue as store
            store(path, message, io.BytesIO(b"x"))
        else:
            from smtpq.queue.store.sql.store import open_store
            with open_store("sqlite:///" + path) as s:
                s.enqueue(message, io.BytesIO(b"x"))
    enqueue()
    reader = sqlite3.connect(path)
    reader.execute("SELECT count(*) FROM messages").fetchall()  # opens -wal and -shm
    enqueue()
    names = ["a", "a/b", "a/b/queue.sqlite3", "a/b/queue.sqlite3-wal", "a/b/queue.sqlite3-shm"]
    print(json.dumps({n: oct(os.stat(os.path.join(base, n)).st_mode & 0o777) for n in names}))
"""


@pytest.mark.parametrize("via", ["fast", "store"])
def test_directories_are_0700_and_database_files_0600_under_umask_000(tmp_path: Path, via: str):
    result = run_python(PERMISSIONS, str(tmp_path), via)
    assert result.returncode == 0, result.stderr
    modes = json.loads(result.stdout)
    assert modes == {"a": "0o700", "a/b": "0o700", "a/b/queue.sqlite3": "0o600",
                     "a/b/queue.sqlite3-wal": "0o600", "a/b/queue.sqlite3-shm": "0o600"}


# -- write errors ----------------------------------------------------------------

DISK_FULL = """
    import io, resource, signal, sys
    from smtpq.queue.enqueue.sqlite import enqueue
    from smtpq.queue.new_message import NewMessage
    from smtpq.queue.errors import StoreError
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # get EFBIG instead of being killed
    resource.setrlimit(resource.RLIMIT_FSIZE, (2 << 20, 2 << 20))
    message = NewMessage(account="d", envelope_from="", recipients=("r@x",))
    try:
        enqueue(sys.argv[1], message, io.BytesIO(b"x" * (8 << 20)))
    except StoreError as error:
        print(int(error.exit_code), error.message)
"""


def test_a_write_failure_is_a_store_error_and_nothing_is_half_written(migrated: str):
    result = run_python(DISK_FULL, migrated)
    assert result.returncode == 0, result.stderr
    code, _, message = result.stdout.decode().strip().partition(" ")
    assert int(code) == ExitCode.EX_IOERR
    assert message.startswith(f"cannot write the queue database {migrated}: ")
    assert counts(migrated) == (0, 0, 0)
    with sqlite3.connect(migrated) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_database_that_cannot_be_created_is_ex_cantcreat(tmp_path: Path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    with pytest.raises(StoreError) as caught:
        enqueue_sqlite.enqueue(str(blocker / "queue.sqlite3"), new_message(), io.BytesIO(b"x"))
    assert caught.value.exit_code == ExitCode.EX_CANTCREAT
    assert str(blocker) in caught.value.message


READ_ONLY = """
    import io, os, sys
    from smtpq.queue.enqueue.sqlite import enqueue
    from smtpq.queue.new_message import NewMessage
    from smtpq.queue.errors import StoreError
    try:
        enqueue(sys.argv[1], NewMessage(account="d", envelope_from="", recipients=("r@x",)),
                io.BytesIO(b"x"))
    except StoreError as error:
        print(int(error.exit_code))
"""


def test_a_database_without_write_permission_is_ex_cantcreat(tmp_path: Path):
    directory = tmp_path / "ro"
    path = str(directory / "queue.sqlite3")
    upgrade_sqlite_file(path)
    # Readable, not writable: for root's stand-in "nobody" through ownership,
    # for anyone else through the mode bits.
    os.chmod(path, 0o644 if os.getuid() == 0 else 0o444)
    os.chmod(directory, 0o755 if os.getuid() == 0 else 0o555)
    os.chmod(tmp_path, 0o755)  # let nobody reach it
    try:
        if os.getuid() == 0:  # root ignores file permissions: run as nobody
            result = subprocess.run(nobody().argv("python", "-c", textwrap.dedent(READ_ONLY), path),
                                    env=nobody().env(os.environ), capture_output=True,
                                    timeout=120, check=False)
        else:
            result = run_python(READ_ONLY, path)
    finally:
        os.chmod(directory, 0o700)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) == ExitCode.EX_CANTCREAT
    assert counts(path) == (0, 0, 0)


# -- concurrency -------------------------------------------------------------------

ENQUEUER = """
    import io, sys
    from smtpq.queue.enqueue.submit import enqueue_message
    from smtpq.queue.new_message import NewMessage
    for n in range(int(sys.argv[2])):
        message = NewMessage(account="d", envelope_from="", recipients=("r@x",))
        enqueue_message(sys.argv[1], message, io.BytesIO(b"x" * 4096))
"""


def test_eight_processes_enqueueing_at_once_never_see_database_is_locked(db_path: str):
    # The database does not exist yet: the first mails also race to create it.
    url = f"sqlite:///{db_path}"
    procs = [subprocess.Popen([sys.executable, "-c", textwrap.dedent(ENQUEUER), url, "15"],
                              stderr=subprocess.PIPE) for _ in range(8)]
    errors = [proc.communicate(timeout=120)[1].decode() for proc in procs]
    assert [proc.returncode for proc in procs] == [0] * 8, errors
    assert counts(db_path) == (120, 120, 120)


# -- memory ------------------------------------------------------------------------

BIG = """
    import sys
    from smtpq.queue.enqueue.sqlite import enqueue
    from smtpq.queue.new_message import NewMessage
    piece = b"0123456789abcdef" * 4096
    pieces = (piece for _ in range(int(sys.argv[2]) * 16))  # MiB, never all in memory
    enqueue(sys.argv[1], NewMessage(account="d", envelope_from="", recipients=("r@x",)), pieces)
    # VmHWM, not ru_maxrss: the latter keeps the forking parent's peak across exec.
    with open("/proc/self/status") as status:
        print(next(int(line.split()[1]) // 1024 for line in status if line.startswith("VmHWM")))
"""


READ_BACK = """
    import sys
    from smtpq.queue.store.sql.store import open_store
    with open_store("sqlite:///" + sys.argv[1]) as store, store.open_content(int(sys.argv[2])) as s:
        total = 0
        while data := s.read(65536):
            total += len(data)
    with open("/proc/self/status") as status:
        print(next(int(line.split()[1]) // 1024 for line in status if line.startswith("VmHWM")))
"""


def test_a_large_mail_is_stored_and_read_back_with_flat_memory(migrated: str):
    small = run_python(BIG, migrated, "1")
    large = run_python(BIG, migrated, "96")
    assert small.returncode == large.returncode == 0, large.stderr
    assert int(large.stdout) - int(small.stdout) < 16, "enqueue's peak RSS grows with the mail (MiB)"
    small_read, large_read = run_python(READ_BACK, migrated, "1"), run_python(READ_BACK, migrated, "2")
    assert small_read.returncode == large_read.returncode == 0, large_read.stderr
    assert int(large_read.stdout) - int(small_read.stdout) < 16, "reading's peak RSS grows (MiB)"


# -- URLs ------------------------------------------------------------------------------


@pytest.mark.parametrize(("url", "path"), [
    ("sqlite:////var/q/queue.sqlite3", "/var/q/queue.sqlite3"),
    ("sqlite:///relative.db", "relative.db"),
    ("sqlite+pysqlite:////a/my%20queue.db", "/a/my queue.db"),
    ("sqlite://", None),
    ("sqlite:///:memory:", None),
    ("sqlite:////a/q.db?timeout=5", None),
    ("postgresql://u@host/smtpq", None),
])
def test_only_plain_sqlite_file_urls_take_the_stdlib_path(url: str, path: str | None):
    assert sqlite_path(url) == path


def test_other_urls_are_enqueued_through_the_store(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'q.db'}?timeout=5"
    message_id = enqueue_message(url, new_message(), io.BytesIO(b"x"), now=T0)
    assert counts(str(tmp_path / "q.db")) == (1, 1, 1) and message_id == 1
