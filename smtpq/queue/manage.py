"""Queue management on top of the store: fast paged listing, purge and retry that say why.

What the management commands need beyond the ``QueueStore`` interface:

- ``list`` of 100,000 messages in well under two seconds: ``pages`` reads a
  page at a time (keyset paging on ``id``) through ``list_reads``, two
  statements per page, never one per message;
- ``purge``/``retry`` by id report each id they left alone and why (unknown,
  being sent, not failed), with the sysexits code the command should end with;
- looking does not create: a SQLite file that does not exist is an empty
  queue for every command but ``smtpq db upgrade``.

Mutations go through the store, so its rules (one transaction per call, never
touch a message being sent) hold here too.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, BinaryIO, NamedTuple

from smtpq.queue.errors import MessageNotFound
from smtpq.queue.sqlite_db import database_file_exists, sqlite_path
from smtpq.queue.states import PENDING, RETRYABLE, MessageStatus
from smtpq.sender.errors import SmtpqError
from smtpq.sender.sysexits import ExitCode

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from smtpq.queue.list_reads import QueueEntry
    from smtpq.queue.records import MessageDetail
    from smtpq.queue.sql_store import SqlStore

#: Messages read per page by ``Queue.entries``.
PAGE = 2000
#: Most ids handed to the store in one call (SQLite's bound-parameter limit is far above).
_ID_BATCH = 500


@dataclass(frozen=True)
class Selection:
    """The messages ``purge`` deletes: those matching every filter given.

    ``ids`` and ``statuses`` are alternatives (at least one is needed);
    ``older_than`` keeps messages created at or after that time.
    """

    ids: tuple[int, ...] | None = None
    statuses: tuple[MessageStatus, ...] | None = None
    older_than: datetime | None = None


class Refusal(NamedTuple):
    """An id a command was asked to act on and left alone, with why."""

    message_id: int
    reason: str
    exit_code: int


@dataclass(frozen=True)
class Outcome:
    """What ``purge``/``retry`` did: the ids acted on, and the ids refused."""

    done: list[int]
    refused: list[Refusal] = field(default_factory=list)

    def error(self) -> SmtpqError | None:
        """One error naming every refused id (exit code of the first), or None."""
        if not self.refused:
            return None
        first, *others = self.refused
        return SmtpqError(first.reason, exit_code=first.exit_code,
                          details=[other.reason for other in others])


def database_missing(url: str) -> bool:
    """Whether *url* names a SQLite file that does not exist yet (an empty queue)."""
    path = sqlite_path(url)
    # Owned, or refused, even when only looking (``private_files``): "queue is empty"
    # must never stand for "this queue is not yours".
    return path is not None and not database_file_exists(path)


def printable_url(url: str) -> str:
    """*url* for a message or a listing: never with its password."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


class Queue:
    """The queue at one database URL, for the management commands.

    With ``create=False`` a missing SQLite file stays missing and the queue
    behaves as empty; otherwise the database is created and migrated on open.
    """

    def __init__(self, url: str, *, create: bool = False) -> None:
        self.url = url
        self._store: SqlStore | None = None
        self._engine: Engine | None = None
        if create or not database_missing(url):
            from smtpq.queue.sql_store import open_store

            self._store = open_store(url)

    def __enter__(self) -> Queue:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the database connections."""
        if self._store is not None:
            self._store.close()
        if self._engine is not None:
            self._engine.dispose()

    # -- reading ---------------------------------------------------------------

    def pages(self, statuses: Collection[MessageStatus] = PENDING, *,
              page: int | None = None) -> Iterator[list[QueueEntry]]:
        """The messages in *statuses*, in id order, a page (list) at a time."""
        if self._store is None:
            return
        from smtpq.queue.list_reads import read_page  # SQLAlchemy: not for --help

        size = page or PAGE
        wanted = [MessageStatus(status) for status in statuses]
        after = 0
        while True:
            with self._reader().begin() as connection:
                entries = read_page(connection, wanted, after, size)
            if entries:
                yield entries
            if len(entries) < size:
                return
            after = entries[-1].id

    def entries(self, statuses: Collection[MessageStatus] = PENDING) -> Iterator[QueueEntry]:
        """The messages in *statuses*, in id order, one at a time."""
        for page in self.pages(statuses):
            yield from page

    def detail(self, message_id: int) -> MessageDetail:
        """Everything about one message; ``MessageNotFound`` (EX_NOINPUT) when there is none."""
        detail = None if self._store is None else self._store.get_message(message_id)
        if detail is None:
            raise MessageNotFound(message_id)
        return detail

    def content(self, message_id: int) -> BinaryIO:
        """The stored mail as a binary stream, read a chunk at a time."""
        if self._store is None:
            raise MessageNotFound(message_id)
        return self._store.open_content(message_id)

    def count(self, selection: Selection) -> int:
        """How many messages ``purge(selection)`` would delete now."""
        if selection.ids is not None:
            return sum(1 for message_id in selection.ids if self._purgeable(message_id, selection))
        statuses = selection.statuses or ()
        cutoff = selection.older_than
        return sum(1 for entry in self.entries(statuses) if _older(entry.created, cutoff)
                   and entry.status is not MessageStatus.SENDING)

    # -- changing ----------------------------------------------------------------

    def purge(self, selection: Selection) -> Outcome:
        """Delete the selected messages (never one being sent); ids asked for and
        not deleted are refused when unknown or being sent."""
        if selection.ids is None and selection.statuses is None:
            raise ValueError("purge needs ids or statuses")
        if self._store is None:
            return Outcome([], self._unknown(selection.ids or ()))
        store = self._store
        done = [message_id for ids in _id_batches(selection.ids)
                for message_id in store.purge(ids=ids, statuses=selection.statuses,
                                              older_than=selection.older_than)]
        refused = [self._purge_refusal(message_id)
                   for message_id in _left(selection.ids or (), done)]
        return Outcome(done, [refusal for refusal in refused if refusal is not None])

    def retry(self, now: datetime, *, ids: Sequence[int] | None = None) -> Outcome:
        """Queue failed/expired messages again: those in *ids*, or all of them."""
        if self._store is None:
            return Outcome([], self._unknown(ids or ()))
        store = self._store
        done = [message_id for batch in _id_batches(ids)
                for message_id in store.retry(now, ids=batch, all_failed=batch is None)]
        return Outcome(done, [self._retry_refusal(message_id) for message_id in _left(ids or (), done)])

    # -- helpers -------------------------------------------------------------------

    def _reader(self) -> Engine:
        """An engine of its own for the listing reads (the store keeps its engine private)."""
        from smtpq.queue.engine import READ_ONLY, make_engine

        if self._engine is None:
            self._engine = make_engine(self.url)
        return self._engine.execution_options(**READ_ONLY)

    def _purgeable(self, message_id: int, selection: Selection) -> bool:
        try:
            detail = self.detail(message_id)
        except MessageNotFound:
            return False
        return detail.status is not MessageStatus.SENDING and _older(
            detail.created, selection.older_than)

    def _unknown(self, ids: Sequence[int]) -> list[Refusal]:
        return [_not_found(message_id) for message_id in ids]

    def _purge_refusal(self, message_id: int) -> Refusal | None:
        try:
            detail = self.detail(message_id)
        except MessageNotFound:
            return _not_found(message_id)
        if detail.status is MessageStatus.SENDING:
            return Refusal(message_id, f"message {message_id} is being sent; not purged",
                           ExitCode.EX_TEMPFAIL)
        return None  # kept by --older-than: not a failure

    def _retry_refusal(self, message_id: int) -> Refusal:
        try:
            detail = self.detail(message_id)
        except MessageNotFound:
            return _not_found(message_id)
        allowed = " or ".join(status.value for status in RETRYABLE)
        return Refusal(message_id, f"message {message_id} is {detail.status.value}: "
                       f"only {allowed} messages can be retried", ExitCode.EX_USAGE)


def _not_found(message_id: int) -> Refusal:
    return Refusal(message_id, MessageNotFound(message_id).message, ExitCode.EX_NOINPUT)


def _left(asked: Sequence[int], done: Collection[int]) -> list[int]:
    """The ids in *asked* that are not in *done*, once each, in the order asked."""
    done_set = set(done)
    return [message_id for message_id in dict.fromkeys(asked) if message_id not in done_set]


def _id_batches(ids: Sequence[int] | None) -> list[Sequence[int] | None]:
    """*ids* in pieces one ``IN`` list can hold (``[None]``: no id filter at all)."""
    if ids is None:
        return [None]
    unique = list(dict.fromkeys(ids))
    return [unique[start:start + _ID_BATCH] for start in range(0, len(unique), _ID_BATCH)]


def _older(created: datetime, cutoff: datetime | None) -> bool:
    return cutoff is None or created < cutoff


def utc_now() -> datetime:
    """The current time, aware UTC (what every store call takes as ``now``)."""
    return datetime.now(UTC)
