"""``smtpq link`` / ``smtpq unlink``: make smtpq the system's ``sendmail`` and ``mailq``.

``smtpq link [--prefix DIR]`` (default ``/usr``) creates symbolic links to the
installed console scripts, which dispatch on argv[0] (docs/interface.md):

* ``DIR/sbin/sendmail`` -> ``smtpq-sendmail`` (what mail clients, cron, PHP,
  git and mailx run);
* ``DIR/lib/sendmail`` -> ``smtpq-sendmail`` (the historical path some
  programs still try first); left alone when it already leads to
  ``DIR/sbin/sendmail``, as Debian's ``../sbin/sendmail`` link does;
* ``DIR/bin/mailq`` -> ``smtpq`` (which lists the queue as ``mailq``).

A file there that is not already smtpq's (another MTA's binary, or a link to
one) is never replaced without ``--force``; with it, the file is moved aside
to ``NAME.smtpq-orig``.  A link to another smtpq installation's script (say,
an old virtual environment) is just replaced.  Nothing is changed unless every link can be made.
``smtpq unlink`` removes only links to smtpq's scripts and puts back what
``--force`` moved aside.  ``--dry-run`` prints the same lines, prefixed with
"would", and changes nothing.
"""

from __future__ import annotations

import dataclasses
import enum
import os
import shutil
import sys
import sysconfig
from collections.abc import Iterable

import click

from smtpq.sender.errors import SmtpqError
from smtpq.sender.sysexits import ExitCode

#: (path under the prefix, console script it links to)
LINKS = (("sbin/sendmail", "smtpq-sendmail"), ("lib/sendmail", "smtpq-sendmail"),
         ("bin/mailq", "smtpq"))
#: Where ``--force`` keeps the file it replaces.
BACKUP_SUFFIX = ".smtpq-orig"
SCRIPTS = ("smtpq", "smtpq-sendmail")


class State(enum.Enum):
    ABSENT = "absent"  # nothing there: link it
    OURS = "ours"  # already leads to smtpq's script
    STALE = "stale"  # a link to another smtpq install's script (moved venv): replaced
    FOLLOWS = "follows"  # a link to another path we manage (lib/sendmail -> ../sbin/sendmail)
    FOREIGN = "foreign"  # another program's file: only with --force


@dataclasses.dataclass(frozen=True)
class Link:
    """One link to make: *path* -> *target*, and what is at *path* now."""

    path: str
    target: str
    state: State

    @property
    def backup(self) -> str:
        return self.path + BACKUP_SUFFIX


# -- where things are ------------------------------------------------------------

def script_path(name: str) -> str:
    """The installed console script *name* (``smtpq`` or ``smtpq-sendmail``), absolute."""
    for directory in _script_dirs():
        candidate = os.path.join(directory, name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which(name)
    if found is None:
        raise SmtpqError(f"cannot find the installed {name} script",
                         exit_code=ExitCode.EX_OSFILE)
    return os.path.abspath(found)


def _script_dirs() -> list[str]:
    """The running script's directory first, then the interpreter's script directories."""
    dirs = []
    argv0 = sys.argv[0] if sys.argv else ""
    if os.path.basename(argv0) in SCRIPTS:
        dirs.append(os.path.dirname(os.path.abspath(argv0)))
    dirs.append(sysconfig.get_path("scripts"))
    dirs.append(os.path.dirname(sys.executable))
    return dirs


def _lead_to(path: str) -> str:
    """Where the link *path* points, as an absolute path (not resolved further)."""
    return os.path.normpath(os.path.join(os.path.dirname(path), os.readlink(path)))


def inspect(path: str, target: str, managed: Iterable[str] = ()) -> State:
    """What is at *path* compared with the wanted link to *target*."""
    if not os.path.lexists(path):
        return State.ABSENT
    if not os.path.islink(path):
        return State.FOREIGN
    if os.path.realpath(path) == os.path.realpath(target):
        return State.OURS
    if _lead_to(path) in managed:
        return State.FOLLOWS
    if is_ours(path):
        return State.STALE
    return State.FOREIGN


def plan(prefix: str) -> list[Link]:
    """The links under *prefix* and the state of each path now."""
    prefix = os.path.abspath(os.path.expanduser(prefix))
    paths = [os.path.join(prefix, relative) for relative, _ in LINKS]
    links = []
    for path, (_, script) in zip(paths, LINKS, strict=True):
        target = script_path(script)
        others = [p for p in paths if p != path]
        links.append(Link(path, target, inspect(path, target, others)))
    return links


def is_ours(path: str) -> bool:
    """Whether *path* is a link smtpq made: it names one of smtpq's scripts."""
    return os.path.islink(path) and os.path.basename(os.readlink(path)) in SCRIPTS


# -- link ------------------------------------------------------------------------

def check_link(links: list[Link], *, force: bool) -> None:
    """Refuse, before changing anything, what cannot or may not be done."""
    foreign = [link for link in links if link.state is State.FOREIGN]
    if foreign and not force:
        names = ", ".join(link.path for link in foreign)
        raise SmtpqError(
            f"{names}: not smtpq's (another mail program?); nothing changed",
            exit_code=ExitCode.EX_CANTCREAT,
            details=[(f"hint: to replace it, run again with --force; it is kept as "
                      f"{foreign[0].backup} and 'smtpq unlink' puts it back")])
    for link in foreign:
        if os.path.lexists(link.backup):
            raise SmtpqError(f"{link.backup}: exists already; move it away first",
                             exit_code=ExitCode.EX_CANTCREAT)
    _check_writable(link.path for link in links
                    if link.state in (State.ABSENT, State.FOREIGN, State.STALE))


def _check_writable(paths: Iterable[str]) -> None:
    for path in paths:
        directory = _existing_parent(os.path.dirname(path))
        if not os.access(directory, os.W_OK):
            raise SmtpqError(
                f"{directory}: Permission denied", exit_code=ExitCode.EX_NOPERM,
                details=[("hint: run as root, or link for yourself only: "
                          "smtpq link --prefix ~/.local")])


def _existing_parent(directory: str) -> str:
    while not os.path.isdir(directory) and os.path.dirname(directory) != directory:
        directory = os.path.dirname(directory)
    return directory


def make_link(link: Link, *, dry_run: bool) -> list[str]:
    """Create one link (moving a foreign file aside first); the lines that say so."""
    would = "would " if dry_run else ""
    if link.state is State.OURS:
        return [f"{link.path}: already links to {link.target}"]
    if link.state is State.FOLLOWS:
        return [f"{link.path}: kept, it leads to {_lead_to(link.path)}"]
    lines = []
    if link.state is State.FOREIGN:
        lines.append(f"{would}move {link.path} to {link.backup}")
        if not dry_run:
            os.rename(link.path, link.backup)
    elif link.state is State.STALE:
        lines.append(f"{would}replace {link.path} -> {os.readlink(link.path)}")
        if not dry_run:
            os.unlink(link.path)
    if not dry_run:
        os.makedirs(os.path.dirname(link.path), exist_ok=True)
        os.symlink(link.target, link.path)
    lines.append(f"{would}link {link.path} -> {link.target}")
    return lines


# -- unlink ----------------------------------------------------------------------

def remove_link(path: str, *, dry_run: bool) -> list[str]:
    """Remove smtpq's link at *path* and restore what ``--force`` moved aside."""
    would = "would " if dry_run else ""
    backup = path + BACKUP_SUFFIX
    if not is_ours(path):
        if os.path.lexists(path):
            return [f"{path}: left alone, not smtpq's"]
        return []
    lines = [f"{would}remove {path}"]
    if not dry_run:
        os.unlink(path)
    if os.path.lexists(backup):
        lines.append(f"{would}restore {path} from {backup}")
        if not dry_run:
            os.rename(backup, path)
    return lines


# -- commands --------------------------------------------------------------------

_PREFIX = click.option("--prefix", default="/usr", show_default=True, metavar="DIR",
                       help="Link DIR/sbin/sendmail, DIR/lib/sendmail and DIR/bin/mailq.")
_DRY_RUN = click.option("--dry-run", "-n", is_flag=True,
                        help="Print what would be done; change nothing.")


@click.command("link")
@_PREFIX
@click.option("--force", is_flag=True,
              help="Replace another mail program's files (kept as NAME.smtpq-orig).")
@_DRY_RUN
def link(prefix: str, force: bool, dry_run: bool) -> None:
    """Make smtpq the system's sendmail and mailq (symbolic links).

    Creates DIR/sbin/sendmail and DIR/lib/sendmail (-> smtpq-sendmail) and
    DIR/bin/mailq (-> smtpq).  Refuses to replace another mail program's
    files unless --force; undo with 'smtpq unlink'.

    \b
    Example:
        sudo smtpq link --dry-run
        sudo smtpq link
        smtpq link --prefix ~/.local     # just for you (put ~/.local/sbin on PATH)
    """
    links = plan(prefix)
    check_link(links, force=force)
    for one in links:
        for line in make_link(one, dry_run=dry_run):
            click.echo(line)


@click.command("unlink")
@_PREFIX
@_DRY_RUN
def unlink(prefix: str, dry_run: bool) -> None:
    """Remove the links 'smtpq link' made, and restore what it moved aside.

    Only links to smtpq's own scripts are removed; any other file is left alone.

    \b
    Example:
        sudo smtpq unlink
    """
    prefix = os.path.abspath(os.path.expanduser(prefix))
    for relative, _ in LINKS:
        for line in remove_link(os.path.join(prefix, relative), dry_run=dry_run):
            click.echo(line)


#: The commands this module adds to the ``smtpq`` group.
COMMANDS = (link, unlink)
