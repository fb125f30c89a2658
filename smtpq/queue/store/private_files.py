"""Owned, or refused: the queue's directories and files belong to the user running smtpq.

The rules are OpenSSH's StrictModes (``safe_path`` in its ``misc.c``), applied
from ``/`` down to every file of the queue, with *the user* meaning the
effective uid:

- Every directory above the queue directory belongs to the user or root and
  is not writable by group or others, unless it is sticky (``/tmp``): in a
  sticky directory nobody else can rename or remove an entry of ours, and an
  entry that is not ours is refused where the walk meets it.
- The queue directory (and any directory smtpq creates) belongs to the user
  and is not writable by group or others.
- A symbolic link on the way is followed only when it belongs to the user (or
  root, who could change anything anyway); its target is then checked by the
  same rules, so both the link and its target belong to the user.
- The queue's files (database, ``-wal``, ``-shm``, ``-journal``, the flush
  lock) are regular files of the user with no group or other permission at
  all (mail is private), and are never reached through a symbolic link: they
  are opened ``O_NOFOLLOW`` relative to the checked directory's descriptor
  and checked again with ``fstat`` on the open descriptor.

Since no other user can write any checked directory, nobody but root can plant
a link between these checks and the moment SQLite opens ``-wal`` or ``-shm``
by name.  Run as root, a directory owned by another user is refused with a
hint to run smtpq as that user: root never creates files in someone else's
home.  Every refusal is an ``UnsafeQueueFile`` (EX_CANTCREAT, 73) naming the
path, its owner and its mode, raised before a byte of mail is read or written.

Cheap and stdlib only (``os``, ``stat``): the enqueue path runs this for every
mail; ``pwd`` is imported only to name an owner in a refusal.
"""

from __future__ import annotations

import os
import stat

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (import cost)
if TYPE_CHECKING:
    from typing import NoReturn

#: Modes of what smtpq creates, whatever the umask.
DIR_MODE = 0o700
FILE_MODE = 0o600
#: Linux's own limit on symbolic links followed in one path (ELOOP).
MAX_LINKS = 40
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def open_private_dir(directory: str) -> tuple[int, str]:
    """A descriptor on *directory*, created 0700 where missing, and its real path.

    Every directory from ``/`` down to it is checked first (see the module
    doc); the missing ones are created one by one relative to their checked
    parent.  Raises ``UnsafeQueueFile`` or ``OSError``.
    """
    euid = os.geteuid()
    real, missing = _walk(os.path.abspath(directory), euid)
    fd = os.open(real, _DIR_FLAGS)
    try:
        _check_dir(real, os.fstat(fd), euid, above_queue=bool(missing))
        for name in missing:
            fd, real = _make_child(fd, real, name, euid)
    except BaseException:
        os.close(fd)
        raise
    return fd, real


def check_private_dir(directory: str) -> int | None:
    """``open_private_dir`` without creating: a descriptor on the checked *directory*, or
    None when it does not exist (its existing ancestors checked all the same)."""
    euid = os.geteuid()
    real, missing = _walk(os.path.abspath(directory), euid)
    if missing:
        return None
    fd = os.open(real, _DIR_FLAGS)
    try:
        _check_dir(real, os.fstat(fd), euid, above_queue=False)
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_private_file(dir_fd: int, directory: str, name: str, flags: int) -> int:
    """Open *name* in the checked *directory* (its descriptor *dir_fd*; created 0600 with
    ``O_CREAT``), never through a link, and check the open file."""
    try:
        fd = os.open(name, flags | os.O_NOFOLLOW | os.O_CLOEXEC, FILE_MODE, dir_fd=dir_fd)
    except (FileExistsError, FileNotFoundError):
        raise
    except OSError as error:
        # ELOOP: O_NOFOLLOW met a link; EACCES: another user's file.  Say which.
        check_private_entry(dir_fd, directory, name)
        error.filename = _join(directory, name)  # not just the name relative to dir_fd
        raise
    try:
        _check_file(directory, name, os.fstat(fd), os.geteuid())
    except BaseException:
        os.close(fd)
        raise
    return fd


def check_private_entry(dir_fd: int, directory: str, name: str) -> bool:
    """Check *name* in the checked *directory* (descriptor *dir_fd*) if it exists
    (``lstat``); whether it does."""
    try:
        status = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return False
    euid = os.geteuid()
    mode = status.st_mode
    if status.st_uid == euid and not (stat.S_ISLNK(mode) or stat.S_ISREG(mode)):
        # A directory or FIFO of the user's own in the user's own directory: no one
        # else made it, and whoever opens it fails as before ("Is a directory").
        return True
    _check_file(directory, name, status, euid)
    return True


def _join(directory: str, name: str) -> str:
    # Not os.path.join: it was most of the cost of these checks on the enqueue path.
    return directory + name if directory.endswith("/") else directory + "/" + name


# -- the walk ---------------------------------------------------------------------


def _walk(path: str, euid: int) -> tuple[str, list[str]]:
    """The real path of *path*'s deepest existing directory, and the names still missing below it.

    Resolves symbolic links one component at a time, as the kernel would,
    checking each directory and each link on the way.
    """
    pending = path.split("/")[::-1]  # a stack: the next component last
    current = "/"
    _check_dir(current, os.lstat(current), euid, above_queue=True)
    links = 0
    while pending:
        name = pending.pop()
        if name in ("", "."):
            continue
        if name == "..":
            current = os.path.dirname(current)  # *current* is real: no link to go back through
            continue
        candidate = _join(current, name)
        try:
            status = os.lstat(candidate)
        except FileNotFoundError:
            return current, _missing(candidate, [name, *reversed(pending)])
        if stat.S_ISLNK(status.st_mode):
            links = _follow(candidate, status, euid, links)
            target = os.readlink(candidate)
            if target.startswith("/"):
                current = "/"
            pending.extend(target.split("/")[::-1])
            continue
        _check_dir(candidate, status, euid, above_queue=True)
        current = candidate
    return current, []


def _missing(path: str, names: list[str]) -> list[str]:
    names = [name for name in names if name not in ("", ".")]
    if ".." in names:  # "missing/.." cannot be created, and the kernel would not resolve it
        raise FileNotFoundError(2, "No such file or directory", path)
    return names


def _follow(path: str, status: os.stat_result, euid: int, links: int) -> int:
    if status.st_uid not in (euid, 0):
        _refuse(path, status, euid, "a symbolic link that belongs to another user",
                "refusing to follow it")
    if links >= MAX_LINKS:
        raise OSError(40, "Too many levels of symbolic links", path)  # ELOOP
    return links + 1


def _make_child(parent_fd: int, parent: str, name: str, euid: int) -> tuple[int, str]:
    """Create (0700) or open the directory *name* in *parent_fd*; closes *parent_fd*."""
    path = _join(parent, name)
    try:
        os.mkdir(name, DIR_MODE, dir_fd=parent_fd)
        created = True
    except FileExistsError:
        created = False  # another enqueue won the race, or a planted entry: checked below
    try:
        fd = os.open(name, _DIR_FLAGS, dir_fd=parent_fd)
    except OSError:
        _check_dir(path, os.stat(name, dir_fd=parent_fd, follow_symlinks=False), euid,
                   above_queue=False)
        raise
    try:
        if created:
            os.fchmod(fd, DIR_MODE)  # mkdir's mode went through the umask
            os.fsync(parent_fd)  # the new name itself must survive a crash
        _check_dir(path, os.fstat(fd), euid, above_queue=False)
    except BaseException:
        os.close(fd)
        raise
    os.close(parent_fd)
    return fd, path


# -- the rules --------------------------------------------------------------------


def _check_dir(path: str, status: os.stat_result, euid: int, *, above_queue: bool) -> None:
    if stat.S_ISLNK(status.st_mode):
        _refuse(path, status, euid, "a symbolic link", "refusing to follow it")
    if not stat.S_ISDIR(status.st_mode):
        # Not a danger, a mistake (a file where a directory belongs): reported as
        # the creation failure it is.
        raise NotADirectoryError(20, "Not a directory", path)  # ENOTDIR
    owners = (euid, 0) if above_queue else (euid,)
    if status.st_uid not in owners:
        _refuse_owner(path, status, euid, "directory")
    sticky = above_queue and status.st_mode & stat.S_ISVTX
    if status.st_mode & 0o022 and not sticky:
        _refuse(path, status, euid, "a directory other users can write to",
                f"refusing to use the queue (chmod go-w {path} if it is yours)")


def _check_file(directory: str, name: str, status: os.stat_result, euid: int) -> None:
    mode = status.st_mode
    if stat.S_ISREG(mode) and status.st_uid == euid and not mode & 0o077:
        return  # the common case, before any message is built
    path = _join(directory, name)
    if stat.S_ISLNK(mode):
        _refuse(path, status, euid, "a symbolic link", "refusing to follow it")
    if not stat.S_ISREG(mode):
        _refuse(path, status, euid, "not a regular file", "refusing to use the queue")
    if status.st_uid != euid:
        _refuse_owner(path, status, euid, "file")
    _refuse(path, status, euid, "a queue file other users can access",
            f"refusing to use the queue (chmod 600 {path} if it is yours)")


def _refuse_owner(path: str, status: os.stat_result, euid: int, kind: str) -> NoReturn:
    if euid == 0:
        owner = user_name(status.st_uid)
        _refuse(path, status, euid, f"a {kind} of user {owner}, and smtpq runs as root",
                "root never creates or uses queue files in another user's directories: "
                f"run smtpq as that user (runuser -u {owner} -- COMMAND, or sudo -u {owner}), "
                "or set SMTPQ_DATABASE (and XDG_DATA_HOME) to a place root owns")
    _refuse(path, status, euid, f"a {kind} that does not belong to you ({user_name(euid)})",
            "refusing to use the queue")


def _refuse(path: str, status: os.stat_result, euid: int, problem: str, action: str) -> NoReturn:
    from smtpq.queue.errors import UnsafeQueueFile  # only when refusing

    mode = stat.S_IMODE(status.st_mode)
    raise UnsafeQueueFile(f"unsafe queue location {path}: {problem} "
                          f"(owner {user_name(status.st_uid)}, mode {mode:04o}); {action}")


def user_name(uid: int) -> str:
    """The login name of *uid*, or ``uid N`` when it has none."""
    import pwd  # only to name someone in a message

    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"
