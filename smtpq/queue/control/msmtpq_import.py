"""Taking over an msmtpq queue: every ``NAME.mail`` + ``NAME.msmtp`` pair becomes a queued mail.

msmtpq (Debian's ``/usr/libexec/msmtp/msmtpq/msmtpq``, msmtp 1.8.23) keeps
each mail as two files in ``$MSMTPQ_Q`` (else ``$Q``, else ``~/.msmtp.queue``):
``ccyy-mm-dd-hh.mm.ss[-N].mail``, the mail as the client gave it, and
``….msmtp``, msmtp's arguments as one line written by ``echo "$@"``.  msmtpq
replays them as ``msmtp $(< NAME.msmtp) < NAME.mail``, so the arguments are
split here the same way: at blanks, with no quoting (msmtpq never had any).

Each mail goes through the same intake as ``smtpq-sendmail ARGS < NAME.mail``
(account resolution, envelope, a configuration error is 78 as msmtp), so it
is resolved as msmtp would have resolved it.  The mail keeps its own bytes and
``Date:``; a mail without ``Date:`` is stamped with the time msmtpq queued it
(its name), not the time of the import.  Queue order is kept: by name, the
``-N`` suffix as a number (msmtpq's own glob order sends ``…44-1`` before
``…44``).

Each original pair is removed only after its row is committed.  A second run
is harmless: a mail whose ``Message-ID`` is already in the queue is not taken
twice (its files are removed), and a mail that has none is given one derived
from its name and bytes before it is stored, so that a run interrupted
between the commit and the removal recognises it next time.  A pair that
cannot be taken (unparsable arguments, an unreadable file, a ``.mail``
without its ``.msmtp``) is left in place and named in the summary.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import BinaryIO

from smtpq.queue.records import MessageSummary
from smtpq.queue.states import MessageStatus
from smtpq.queue.store.interface import QueueStore
from smtpq.sender.errors import SmtpqError

#: ``ccyy-mm-dd-hh.mm.ss`` with msmtpq's optional ``-N`` uniqueness suffix.
NAME = re.compile(r"^(\d{4})-(\d\d)-(\d\d)-(\d\d)\.(\d\d)\.(\d\d)(?:-(\d+))?$")


def default_directory(env: Mapping[str, str]) -> str:
    """msmtpq's queue directory: ``$MSMTPQ_Q``, else ``$Q``, else ``~/.msmtp.queue``."""
    chosen = env.get("MSMTPQ_Q") or env.get("Q")
    if chosen:
        return chosen
    return os.path.join(env.get("HOME") or os.path.expanduser("~"), ".msmtp.queue")


@dataclass(frozen=True)
class QueuedPair:
    """One mail of the msmtpq queue: its name and its two files."""

    name: str
    directory: str

    @property
    def mail_path(self) -> str:
        return os.path.join(self.directory, self.name + ".mail")

    @property
    def args_path(self) -> str:
        return os.path.join(self.directory, self.name + ".msmtp")

    def order(self) -> tuple[int, ...] | tuple[float, str]:
        """Oldest first; within one second, ``NAME`` before ``NAME-1`` before ``NAME-2``."""
        match = NAME.match(self.name)
        if match is None:
            return (float("inf"), self.name)  # not msmtpq's naming: after the rest, by name
        return tuple(int(part or 0) for part in match.groups())

    def queued_at(self) -> float | None:
        """When msmtpq queued it (its name is local time), as a Unix time; None if unnamed."""
        match = NAME.match(self.name)
        if match is None:
            return None
        year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
        return time.mktime((year, month, day, hour, minute, second, 0, 0, -1))


def scan(directory: str) -> list[QueuedPair]:
    """Every ``.mail`` of the msmtpq queue in *directory*, in the order msmtpq queued them."""
    names = {entry[:-len(".mail")] for entry in os.listdir(directory)
             if entry.endswith(".mail") and not entry.startswith(".")}
    return sorted((QueuedPair(name, directory) for name in names), key=QueuedPair.order)


def split_arguments(line: str) -> list[str]:
    """msmtpq's ``$(< NAME.msmtp)``: the shell's word splitting at blanks, nothing more."""
    return line.split()


@dataclass
class ImportReport:
    """What one import did: ids it queued, names it left in place (and why)."""

    imported: list[tuple[str, int]] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    left: list[tuple[str, str]] = field(default_factory=list)


def import_queue(directory: str, *, database: str, env: Mapping[str, str]) -> ImportReport:
    """Move every mail of the msmtpq queue in *directory* into the smtpq queue at *database*."""
    report = ImportReport()
    known = _known_message_ids(database)
    for pair in scan(directory):
        try:
            outcome = _import_one(pair, database=database, env=env, known=known)
        except SmtpqError as error:
            report.left.append((pair.name, error.message))
            continue
        except OSError as error:
            report.left.append((pair.name, f"{error.filename or pair.name}: {error.strerror}"))
            continue
        if outcome is None:
            report.already.append(pair.name)
        else:
            report.imported.append((pair.name, outcome))
    return report


def _import_one(pair: QueuedPair, *, database: str, env: Mapping[str, str],
                known: set[str]) -> int | None:
    """Queue one pair and remove it; its new id, or None when it was taken before."""
    if not os.path.exists(pair.args_path):
        raise SmtpqError(f"{pair.args_path} is missing (msmtpq would skip this mail too)")
    with open(pair.args_path, encoding="utf-8", errors="surrogateescape") as handle:
        args = split_arguments(handle.read())
    with open(pair.mail_path, "rb") as mail:
        head = mail.read(65536)
        msgid = _message_id(head)
        if msgid is not None and msgid in known:
            _remove(pair)
            return None
        mail.seek(0)
        if msgid is None:
            msgid = _stable_message_id(pair, mail)
            if msgid in known:
                _remove(pair)
                return None
            with _with_message_id(mail, msgid) as stream:
                message_id = _enqueue(args, stream, pair, database=database, env=env)
        else:
            message_id = _enqueue(args, mail, pair, database=database, env=env)
    known.add(msgid)
    _remove(pair)
    return message_id


def _enqueue(args: list[str], stream: BinaryIO, pair: QueuedPair, *, database: str,
             env: Mapping[str, str]) -> int:
    """The mail on *stream* through the sendmail intake with msmtpq's stored *args*."""
    from smtpq.queue.enqueue.submit import enqueue_message, prepare_for_queue
    from smtpq.sender.errors import UsageError
    from smtpq.sender.options import Mode, parse_args

    cmd = parse_args(args, environ=env)
    if cmd.mode != Mode.SENDMAIL:
        raise UsageError(f"stored arguments are not a mail to send: {' '.join(args)}")
    message, content = prepare_for_queue(cmd, env=env, args=args, stdin=stream,
                                         now=pair.queued_at())
    with content:
        return enqueue_message(database, message, content.iter_bytes())


def _with_message_id(mail: BinaryIO, msgid: str) -> BinaryIO:
    """*mail* with a ``Message-ID:`` field in front, as a temporary file (streamed, so a
    large mail is never held in memory; only mail that came without one is copied)."""
    copy = tempfile.TemporaryFile()  # noqa: SIM115 - the caller closes it
    copy.write(b"Message-ID: " + msgid.encode("ascii") + b"\n")
    mail.seek(0)
    shutil.copyfileobj(mail, copy)
    copy.seek(0)
    return copy


def _message_id(head: bytes) -> str | None:
    """The ``Message-ID`` in the header block at the start of *head*, if any."""
    block = re.split(rb"\r?\n\r?\n", head, maxsplit=1)[0]
    unfolded = re.sub(rb"\r?\n[ \t]+", b" ", block)
    for line in unfolded.splitlines():
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"message-id" and value.strip():
            return value.strip().decode("utf-8", "replace")
    return None


def _stable_message_id(pair: QueuedPair, mail: BinaryIO) -> str:
    """A Message-ID that the same pair always gets (RFC 5322 §3.6.4: unique per mail)."""
    digest = hashlib.sha256(pair.name.encode())
    for chunk in iter(lambda: mail.read(1 << 20), b""):
        digest.update(chunk)
    mail.seek(0)
    return f"<{digest.hexdigest()[:32]}.msmtpq@{socket.gethostname()}>"


def _known_message_ids(database: str) -> set[str]:
    """The Message-IDs of every mail already in the smtpq queue (a rerun takes none twice)."""
    from smtpq.queue.control.manage import database_missing

    if database_missing(database):
        return set()
    from smtpq.queue.store.sql.store import open_store

    with open_store(database) as store:
        return {summary.msgid for summary in _every_message(store) if summary.msgid}


def _every_message(store: QueueStore) -> Iterator[MessageSummary]:
    after = 0
    while page := store.list_messages(tuple(MessageStatus), after_id=after, limit=1000):
        yield from page
        after = page[-1].id


def _remove(pair: QueuedPair) -> None:
    """The mail file first: a ``.msmtp`` alone is ignored by msmtpq and by a rerun."""
    os.unlink(pair.mail_path)
    os.unlink(pair.args_path)
    fd = os.open(pair.directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


__all__ = ["ImportReport", "QueuedPair", "default_directory", "import_queue", "scan",
           "split_arguments"]
