"""Owned, or refused: nobody else can subvert a user's queue (issue 14, points 1 and 2).

The victim is a real second user, uid 65534, running the installed
``smtpq-sendmail`` and ``smtpq`` through ``setpriv`` with a HOME of its own;
the intruder is uid 4243 (no account needed): its links and files are planted
by root with ``lchown``, as the intruder could where a directory let it.  Every
refusal is exit 73 with a message naming the path, its owner and its mode,
and nothing reaches the intruder's target.  Root with the victim's HOME is
refused and leaves no root-owned file in that home.  The last tests run in
process: each new connection of an engine checks the files again, and the
lock of a server database is never created through a foreign link.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from smtpq.queue.errors import UnsafeQueueFile
from smtpq.queue.flush.lock import LOCK_SUFFIX, lock_path, try_lock
from smtpq.queue.store.sqlite_file import COMPANION_SUFFIXES
from smtpq.sender.sysexits import ExitCode
from tests.support.other_user import nobody
from tests.support.programs import needs

BIN = Path(sys.executable).parent
SENDMAIL = str(BIN / "smtpq-sendmail")
SMTPQ = str(BIN / "smtpq")
VICTIM = 65534
INTRUDER = 4243
MAIL = b"To: b@x.test\nSubject: s\n\nbody\n"
REFUSED = ExitCode.EX_CANTCREAT

@pytest.fixture
def root_and_setpriv() -> None:
    needs(os.geteuid() == 0 and shutil.which("setpriv") is not None,
          "needs root and setpriv to play the victim (uid 65534) and the intruder")


needs_root = pytest.mark.usefixtures("root_and_setpriv")


class World:
    """A root-owned 0755 directory under /tmp holding the victim's HOME (0700) and the
    intruder's directory (0777); the victim's queue is the default one in its HOME."""

    def __init__(self, top: Path) -> None:
        self.top = top
        self.home = top / "home"
        self.intruder = top / "intruder"
        self.data_home = self.home / ".local" / "share"
        self.env: dict[str, str] = {"HOME": str(self.home), "PATH": "/usr/bin:/bin"}
        self.home.mkdir(mode=0o700)
        self.intruder.mkdir()
        self.intruder.chmod(0o777)
        os.chown(self.intruder, INTRUDER, INTRUDER)
        self.write(self.home / ".msmtprc", "account default\nhost 127.0.0.1\nport 9\n"
                   "from a@x.test\n", mode=0o600)
        self.configure("none")
        os.chown(self.home, VICTIM, VICTIM)

    @property
    def queue_dir(self) -> Path:
        return Path(self.env.get("XDG_DATA_HOME", str(self.data_home))) / "smtpq"

    @property
    def database(self) -> Path:
        return self.queue_dir / "queue.sqlite3"

    def configure(self, after_enqueue: str) -> None:
        config = self.home / ".config" / "smtpq"
        self.mkdirs(config)
        self.write(config / "config.toml", f'[queue]\nafter_enqueue = "{after_enqueue}"\n')

    def mkdirs(self, path: Path, mode: int = 0o700) -> None:
        """*path* and its missing parents, the victim's, as the victim would make them."""
        if not path.exists():
            self.mkdirs(path.parent, mode)
            path.mkdir(mode=mode)
            os.chown(path, VICTIM, VICTIM)

    def write(self, path: Path, text: str, mode: int = 0o644) -> None:
        path.write_text(text)
        path.chmod(mode)
        os.chown(path, VICTIM, VICTIM)

    def run(self, *argv: str, uid: int | None = VICTIM, stdin: bytes = MAIL,
            ) -> subprocess.CompletedProcess[str]:
        """*argv* as the victim (``uid=None``: as root), in this world's environment."""
        if uid is None:
            command = list(argv)
        elif argv[0] in (SENDMAIL, SMTPQ):  # reachable wherever the clone is (other_user)
            command = nobody().argv(argv[0], *argv[1:], uid=uid)
        else:
            command = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", *argv]
        return subprocess.run(command, env=nobody().env(self.env), input=stdin.decode(),
                              capture_output=True, text=True, cwd="/", timeout=120, check=False)

    def enqueue(self, *args: str, uid: int | None = VICTIM) -> subprocess.CompletedProcess[str]:
        return self.run(SENDMAIL, "-t", *args, uid=uid)

    def queued(self) -> int:
        """How many messages the victim's ``smtpq list`` shows."""
        result = self.run(SMTPQ, "list", "--json")
        assert result.returncode == 0, result.stderr
        return len(json.loads(result.stdout))


@pytest.fixture
def world() -> Iterator[World]:
    top = Path(tempfile.mkdtemp(prefix="smtpq-own-"))
    top.chmod(0o755)
    try:
        yield World(top)
    finally:
        shutil.rmtree(top)


def plant_link(link: Path, target: Path, uid: int = INTRUDER) -> None:
    link.symlink_to(target)
    os.lchown(link, uid, uid)


def intruder_file(world: World, name: str) -> Path:
    path = world.intruder / name
    path.write_bytes(b"")
    path.chmod(0o666)
    os.chown(path, INTRUDER, INTRUDER)
    return path


def assert_refused(result: subprocess.CompletedProcess[str], path: Path, *,
                   owner: str, mode: int, problem: str) -> None:
    assert result.returncode == REFUSED, result.stderr
    (line,) = result.stderr.splitlines()
    assert f"unsafe queue location {path}: {problem}" in line
    assert f"(owner {owner}, mode {mode:04o})" in line


def files_of(top: Path) -> list[tuple[str, int, int]]:
    """Every entry under *top* (links not followed) as (path, owner, mode)."""
    found = []
    for directory, dirs, names in os.walk(top):
        for name in dirs + names:
            status = os.lstat(os.path.join(directory, name))
            found.append((os.path.join(directory, name), status.st_uid,
                          stat.S_IMODE(status.st_mode)))
    return found


# -- the happy path ------------------------------------------------------------------


@needs_root
def test_the_users_own_queue_is_created_private_and_owned_by_them(world: World) -> None:
    result = world.enqueue()
    assert result.returncode == 0, result.stderr
    assert world.queued() == 1
    created = files_of(world.home / ".local")
    assert {path for path, _, _ in created} >= {str(world.queue_dir), str(world.database)}
    for path, owner, mode in created:
        assert owner == VICTIM, path
        assert mode == (0o700 if os.path.isdir(path) else 0o600), path


@needs_root
def test_a_link_and_its_target_both_the_users_are_followed(world: World) -> None:
    elsewhere = world.top / "victim-data"
    elsewhere.mkdir(mode=0o700)
    os.chown(elsewhere, VICTIM, VICTIM)
    world.mkdirs(world.data_home)
    plant_link(world.queue_dir, elsewhere, uid=VICTIM)
    assert world.enqueue().returncode == 0
    assert (elsewhere / "queue.sqlite3").stat().st_uid == VICTIM


@needs_root
def test_a_sticky_shared_data_home_like_tmp_is_accepted(world: World) -> None:
    shared = world.top / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    world.env["XDG_DATA_HOME"] = str(shared)
    assert world.enqueue().returncode == 0
    assert world.database.stat().st_uid == VICTIM


# -- planted links -------------------------------------------------------------------


@needs_root
def test_a_planted_queue_directory_link_in_a_shared_data_home_is_refused(world: World) -> None:
    shared = world.top / "shared"
    shared.mkdir()
    shared.chmod(0o1777)  # like /tmp: anyone may create an entry
    world.env["XDG_DATA_HOME"] = str(shared)
    plant_link(shared / "smtpq", world.intruder)
    result = world.enqueue()
    assert_refused(result, shared / "smtpq", owner=f"uid {INTRUDER}", mode=0o777,
                   problem="a symbolic link that belongs to another user")
    assert list(world.intruder.iterdir()) == []


@needs_root
@pytest.mark.parametrize("suffix", ["", "-wal", "-shm", LOCK_SUFFIX])
def test_a_planted_link_for_a_queue_file_is_refused(world: World, suffix: str) -> None:
    assert world.enqueue().returncode == 0  # the victim's queue, with one mail
    target = intruder_file(world, "bait")
    link = Path(str(world.database) + suffix)
    if suffix == "":
        link.rename(world.queue_dir / "moved-away")
    plant_link(link, target)
    for result in (world.enqueue(), world.run(SMTPQ, "flush")):
        assert_refused(result, link, owner=f"uid {INTRUDER}", mode=0o777,
                       problem="a symbolic link")
    assert target.read_bytes() == b""
    assert stat.S_IMODE(target.stat().st_mode) == 0o666


@needs_root
def test_a_dangling_lock_link_makes_nobody_create_the_target(world: World) -> None:
    assert world.enqueue().returncode == 0
    target = world.intruder / "created-by-the-victim"
    link = Path(str(world.database) + LOCK_SUFFIX)
    plant_link(link, target)
    for uid in (VICTIM, None):  # the user's flush, and root's (which is refused anyway)
        result = world.run(SMTPQ, "flush", uid=uid)
        assert result.returncode == REFUSED, result.stderr
    assert not target.exists()


# -- foreign owners and open modes ---------------------------------------------------


@needs_root
@pytest.mark.parametrize("what", ["directory", "database", "lock"])
def test_a_queue_path_owned_by_another_user_is_refused(world: World, what: str) -> None:
    assert world.enqueue().returncode == 0
    path = {"directory": world.queue_dir, "database": world.database,
            "lock": Path(str(world.database) + LOCK_SUFFIX)}[what]
    path.touch(mode=0o600)
    os.chown(path, INTRUDER, INTRUDER)
    kind = "directory" if what == "directory" else "file"
    for result in (world.enqueue(), world.run(SMTPQ, "list")):
        assert_refused(result, path, owner=f"uid {INTRUDER}",
                       mode=stat.S_IMODE(path.stat().st_mode),
                       problem=f"a {kind} that does not belong to you (nobody)")


@needs_root
@pytest.mark.parametrize("what, mode", [
    ("database", 0o666), ("database", 0o660), ("database", 0o640),
    ("directory", 0o777), ("directory", 0o770), ("lock", 0o666), ("lock", 0o660),
])
def test_a_queue_path_others_can_write_or_read_is_refused(world: World, what: str,
                                                          mode: int) -> None:
    assert world.enqueue().returncode == 0
    path = {"directory": world.queue_dir, "database": world.database,
            "lock": Path(str(world.database) + LOCK_SUFFIX)}[what]
    path.touch()
    os.chown(path, VICTIM, VICTIM)
    path.chmod(mode)
    problem = ("a directory other users can write to" if what == "directory"
               else "a queue file other users can access")
    for result in (world.enqueue(), world.run(SMTPQ, "flush")):
        assert_refused(result, path, owner="nobody", mode=mode, problem=problem)
    path.chmod(0o700 if what == "directory" else 0o600)
    assert world.queued() == 1  # nothing was written while refused


@needs_root
def test_a_data_home_others_can_write_to_is_refused(world: World) -> None:
    shared = world.top / "open"
    shared.mkdir()
    shared.chmod(0o777)  # not sticky: anyone could rename the queue away
    world.env["XDG_DATA_HOME"] = str(shared)
    assert_refused(world.enqueue(), shared, owner="root", mode=0o777,
                   problem="a directory other users can write to")
    assert list(shared.iterdir()) == []


# -- a foreign lock holder -----------------------------------------------------------

HOLDER = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)  # opened while root: as if the mode had been wrong
os.setgid(int(sys.argv[2])); os.setuid(int(sys.argv[2]))
fcntl.flock(fd, fcntl.LOCK_EX)
print("locked", flush=True)
sys.stdin.read()
"""


@contextlib.contextmanager
def held_by(path: Path, uid: int) -> Iterator[int]:
    """A process of *uid* holding the flock on *path*; its pid."""
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(path), str(uid)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        yield holder.pid
    finally:
        holder.kill()
        holder.wait(timeout=60)


@needs_root
@pytest.mark.parametrize("uid, name", [(INTRUDER, f"uid {INTRUDER}"), (0, "root")])
def test_a_lock_held_by_another_user_is_reported_not_silent(world: World, uid: int,
                                                            name: str) -> None:
    world.configure("flush")
    assert world.enqueue().returncode == 0
    lock = Path(str(world.database) + LOCK_SUFFIX)
    deadline = time.monotonic() + 60  # the background flusher of that enqueue lets go
    while time.monotonic() < deadline and _locked(lock):
        time.sleep(0.1)
    with held_by(lock, uid) as pid:
        held = f"the flush lock {lock} is held by process {pid} of user {name}, not by nobody"
        flush = world.run(SMTPQ, "flush")
        assert flush.returncode == REFUSED
        assert held in flush.stderr
        queued = world.enqueue()
        assert queued.returncode == 0  # the mail is stored: exit 0, but not silently
        assert queued.stderr.startswith(
            f"smtpq-sendmail: mail queued, but cannot start a background flush: {held}")
        assert world.run(SENDMAIL, "-q").returncode == REFUSED
    assert world.queued() == 2


HANDED_DOWN = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.flock(fd, fcntl.LOCK_EX)  # /proc/locks names this process, which exits at once
if os.fork():
    os._exit(0)
os.setgid(int(sys.argv[2])); os.setuid(int(sys.argv[2]))  # no longer dumpable: fd hidden
print(os.getpid(), flush=True)
sys.stdin.read()
"""


@needs_root
def test_a_lock_handed_down_to_another_users_process_is_reported_by_the_flush(
        world: World) -> None:
    assert world.enqueue().returncode == 0
    lock = Path(str(world.database) + LOCK_SUFFIX)
    lock.touch(mode=0o600)
    os.chown(lock, VICTIM, VICTIM)
    starter = subprocess.Popen([sys.executable, "-c", HANDED_DOWN, str(lock), str(INTRUDER)],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert starter.stdout is not None
    child = int(starter.stdout.readline())
    try:
        flush = world.run(SMTPQ, "flush")
        assert flush.returncode == REFUSED
        assert f"the flush lock {lock} is held by a process of another user" in flush.stderr
    finally:
        os.kill(child, 9)
        starter.wait(timeout=60)
    after = world.run(SMTPQ, "flush")  # free again: a flush like any other
    assert after.returncode != REFUSED and "held by" not in after.stderr


def _locked(path: Path) -> bool:
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


# -- root with a user's HOME ---------------------------------------------------------


@needs_root
@pytest.mark.parametrize("queue_exists", [False, True])
@pytest.mark.parametrize("where", ["HOME", "XDG_DATA_HOME"])
def test_root_with_a_users_home_is_refused_and_leaves_no_root_file(
        world: World, queue_exists: bool, where: str) -> None:
    if queue_exists:
        assert world.enqueue().returncode == 0
    if where == "XDG_DATA_HOME":  # root's own HOME, a data home inside the user's
        world.env.update(HOME="/root", XDG_DATA_HOME=str(world.data_home),
                         SMTPQ_CONFIG=os.devnull)
    before = files_of(world.home)
    for argv in ([SENDMAIL, "-t"], [SENDMAIL, "-q"], [SMTPQ, "list"], [SMTPQ, "flush"],
                 [SMTPQ, "show", "1"], [SMTPQ, "db", "current"]):
        result = world.run(*argv, uid=None)
        assert result.returncode == REFUSED, (argv, result.stderr)
        assert "and smtpq runs as root" in result.stderr
        assert "runuser -u nobody -- COMMAND" in result.stderr
    assert files_of(world.home) == before
    assert [path for path, owner, _ in files_of(world.home) if owner == 0] == []


# -- in process: the engine's connections, the lock's own open ------------------------


def test_each_new_engine_connection_checks_the_files_again(tmp_path: Path) -> None:
    from smtpq.queue.store.sql.engine import make_engine

    database = tmp_path / "queue.sqlite3"
    engine = make_engine(f"sqlite:///{database}")  # checked (and created) here
    try:
        bait = tmp_path / "bait"
        bait.write_bytes(b"")
        plant_link(Path(f"{database}-wal"), bait, uid=os.geteuid())  # even one's own link
        with pytest.raises(UnsafeQueueFile) as refused:
            engine.connect()
        assert f"unsafe queue location {database}-wal: a symbolic link" in refused.value.message
        assert bait.read_bytes() == b""
    finally:
        engine.dispose()


def test_the_lock_and_the_marker_are_checked_companions() -> None:
    from smtpq.queue.store.marker import marker_path

    assert LOCK_SUFFIX in COMPANION_SUFFIXES
    assert marker_path("q").removeprefix("q") in COMPANION_SUFFIXES


def test_a_server_databases_lock_is_never_created_through_a_foreign_link(tmp_path: Path) -> None:
    needs(os.geteuid() == 0, "needs root to give a link away")
    data_home = tmp_path / "data"
    data_home.mkdir()
    target = tmp_path / "elsewhere"
    target.mkdir()
    plant_link(data_home / "smtpq", target)
    path = lock_path("postgresql://db.example/smtpq", {"XDG_DATA_HOME": str(data_home)})
    with pytest.raises(UnsafeQueueFile) as refused:
        try_lock(path)
    assert refused.value.exit_code == REFUSED
    assert f"unsafe queue location {data_home / 'smtpq'}: a symbolic link" in refused.value.message
    assert list(target.iterdir()) == []


def test_a_lock_file_of_ones_own_is_created_private_and_taken(tmp_path: Path) -> None:
    path = tmp_path / "new" / "dir" / "q.flush.lock"
    fd = try_lock(str(path))
    assert fd is not None
    try:
        assert try_lock(str(path)) is None  # taken, by us: no complaint
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    finally:
        os.close(fd)
