"""Queue management on top of the store: fast paged listing, purge and retry that say why.

What the management commands need beyond the ``QueueStore`` interface:

- ``list`` of 100,000 messages in well under two seconds: ``pages`` reads a
  page at a time (keyset paging on ``id``) through ``store.sql.listing``, two
  statements per page, never one per message;
- ``purge``/``retry``/``hold``/``release`` by id report each id they left alone
  and why (unknown, being sent, not in a state the command applies to), with
  the sysexits code the command should end with;
- a message stranded in ``sending`` by a flusher of this host that is gone
  (``holders``) is taken back first, so ``retry`` queues it, ``hold`` holds it
  and ``purge`` deletes it; only a live flusher's (or another host's) claim is
  refused;
- ``reroute`` checks the new account against the configuration before it
  changes anything (``smtpq.queue.control.reroute``);
- looking does not create: a SQLite file that does not exist at the default
  location is an empty queue for every command but ``smtpq db upgrade``; one
  the user named (``SMTPQ_DATABASE``, config.toml) is an error
  (``DatabaseMissing``), and so is one that cannot be read; one the queue
  marker says held mail is a vanished queue (``store.marker``), never empty.

Mutations go through the store, so its rules (one transaction per call, never
touch a message being sent) hold here too.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, BinaryIO, NamedTuple

from smtpq.queue.errors import DatabaseMissing, MessageNotFound
from smtpq.queue.flush import holders
from smtpq.queue.records import MessageDetail, QueueHealth
from smtpq.queue.states import (
    HOLDABLE,
    PENDING,
    REROUTABLE,
    REVIVABLE,
    MessageStatus,
)
from smtpq.queue.store.sqlite_file import database_file_exists, sqlite_path
from smtpq.sender.errors import SmtpqError
from smtpq.sender.sysexits import ExitCode

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from smtpq.queue.store.sql.listing import QueueEntry
    from smtpq.queue.store.sql.store import SqlStore

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
class ActionResult:
    """What a management action (purge, retry, hold, release, re-route) did: the ids
    acted on, and the ids refused (not a delivery ``Outcome``: ``flush.policy``)."""

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
    """Whether *url* names a SQLite file that does not exist yet (an empty queue).

    A file that cannot be looked at (a directory without search permission) is
    not missing: opening it then says why it cannot be read.  Raises
    ``StoreError`` (EX_IOERR) when the queue marker says the file held mail: a
    vanished queue is not an empty one.
    """
    path = sqlite_path(url)
    if path is None:
        return False
    # Owned, or refused, even when only looking (``private_files``): "queue is empty"
    # must never stand for "this queue is not yours".
    if database_file_exists(path):
        return False
    from smtpq.queue.store.marker import check_present

    check_present(path)  # a queue that held mail and vanished is not an empty one
    return True


def database_named(url: str, environ: Mapping[str, str] | None = None) -> bool:
    """Whether the queue database *url* was named by the user (``SMTPQ_DATABASE``,
    config.toml) rather than being the default location."""
    from smtpq.queue.settings import default_database_url

    return url != default_database_url(os.environ if environ is None else environ)


def require_database(url: str, environ: Mapping[str, str] | None = None) -> None:
    """Raise ``DatabaseMissing`` when *url* was named by the user and does not exist."""
    if database_missing(url) and database_named(url, environ):
        raise DatabaseMissing(printable_url(url))


def printable_url(url: str) -> str:
    """*url* for a message or a listing: never with its password."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


class Queue:
    """The queue at one database URL, for the management commands.

    With ``create=False`` a missing SQLite file stays missing and the queue
    behaves as empty, unless *must_exist* (a database the user named): then it
    is ``DatabaseMissing``; otherwise the database is created and migrated on open.
    """

    def __init__(self, url: str, *, create: bool = False, must_exist: bool = False) -> None:
        self.url = url
        self._store: SqlStore | None = None
        self._engine: Engine | None = None
        if must_exist and not create and database_missing(url):
            raise DatabaseMissing(printable_url(url))
        if create or not database_missing(url):
            from smtpq.queue.store.sql.store import open_store

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
        from smtpq.queue.store.sql.listing import read_page  # SQLAlchemy: not for --help

        size = page or PAGE
        wanted = [MessageStatus(status) for status in statuses]
        after = 0
        while True:
            with self._reader().begin() as connection:
                entries = read_page(connection, wanted, after, size)
            if entries:
                yield self._with_liveness(entries)
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
        if detail.status is MessageStatus.SENDING and self._store is not None:
            alive = self._store.claim_holders_alive([message_id]).get(message_id)
            detail = dataclasses.replace(detail, holder_alive=alive)
        return detail

    def _with_liveness(self, entries: list[QueueEntry]) -> list[QueueEntry]:
        """*entries*, the database's word on each sending message's holder added."""
        sending = [entry.id for entry in entries if entry.status is MessageStatus.SENDING]
        if not sending or self._store is None:
            return entries
        alive = self._store.claim_holders_alive(sending)  # {} on SQLite: host and pid tell
        if not alive:
            return entries
        return [entry._replace(holder_alive=alive[entry.id]) if entry.id in alive else entry
                for entry in entries]

    def health(self) -> QueueHealth:
        """``QueueStore.health``; an empty queue's when there is no database yet."""
        if self._store is None:
            return QueueHealth({status.value: 0 for status in MessageStatus}, None, None, None)
        return self._store.health()

    def content(self, message_id: int) -> BinaryIO:
        """The stored mail as a binary stream, read a chunk at a time."""
        if self._store is None:
            raise MessageNotFound(message_id)
        return self._store.open_content(message_id)

    def count(self, selection: Selection) -> int:
        """How many messages ``purge(selection)`` would delete now."""
        if selection.ids is not None:
            return sum(1 for message_id in dict.fromkeys(selection.ids)
                       if self._purgeable(message_id, selection))
        statuses = selection.statuses or ()
        cutoff = selection.older_than
        return sum(1 for entry in self.entries(statuses) if _older(entry.created, cutoff)
                   and entry.status is not MessageStatus.SENDING)

    # -- changing ----------------------------------------------------------------

    def purge(self, selection: Selection) -> ActionResult:
        """Delete the selected messages (never one being sent); ids asked for and
        not deleted are refused when unknown or being sent."""
        if selection.ids is None and selection.statuses is None:
            raise ValueError("purge needs ids or statuses")
        if self._store is None:
            return ActionResult([], self._unknown(selection.ids or ()))
        store = self._store
        self._take_back_stranded(selection.ids or ())
        done = [message_id for ids in _id_batches(selection.ids)
                for message_id in store.purge(ids=ids, statuses=selection.statuses,
                                              older_than=selection.older_than)]
        if done:
            store.reclaim_space()  # the file shrinks (smtpq.queue.store.sql.space)
        refused = [self._purge_refusal(message_id)
                   for message_id in _left(selection.ids or (), done)]
        return ActionResult(done, [refusal for refusal in refused if refusal is not None])

    def retry(self, now: datetime, *, ids: Sequence[int] | None = None) -> ActionResult:
        """Queue messages again, due now: the failed, expired, deferred or held ones
        in *ids*, or every failed and expired one."""
        if self._store is None:
            return ActionResult([], self._unknown(ids or ()))
        store = self._store
        done = self._take_back_stranded(ids or (), now)
        done += [message_id for batch in _id_batches(ids)
                 for message_id in store.retry(now, ids=batch, all_failed=batch is None)]
        return self._result(ids or (), done, REVIVABLE, "retried")

    def hold(self, now: datetime, ids: Sequence[int]) -> ActionResult:
        """Keep the queued or deferred messages in *ids* back until released."""
        self._take_back_stranded(ids, now)  # a dead flusher's mail can be held at once
        done = self._each_batch(ids, lambda store, batch: store.hold(now, batch))
        return self._result(ids, done, HOLDABLE, "held")

    def release(self, now: datetime, ids: Sequence[int]) -> ActionResult:
        """Queue the held messages in *ids* again, due now."""
        done = self._each_batch(ids, lambda store, batch: store.release(now, batch))
        return self._result(ids, done, (MessageStatus.HELD,), "released")

    def reroute(self, now: datetime, account: str, env: Mapping[str, str], *,
                ids: Sequence[int] | None = None, from_account: str | None = None) -> ActionResult:
        """Send the messages in *ids* (or every unfinished one of *from_account*)
        through *account*, due now; nothing changes unless every new route
        resolves (else its ``ConfigError``, EX_CONFIG, as msmtp's)."""
        from smtpq.queue.control import reroute

        if self._store is None:
            return ActionResult([], self._unknown(ids or ()))
        wanted = list(ids) if ids is not None else [
            entry.id for entry in self.entries(REROUTABLE) if entry.account == from_account]
        details = [detail for detail in map(self._store.get_message, dict.fromkeys(wanted))
                   if detail is not None and detail.status in REROUTABLE]
        routes = reroute.plan(details, account, env)
        done = self._each_batch(list(routes), lambda store, batch: store.reroute(
            now, {message_id: routes[message_id] for message_id in batch}))
        return self._result(ids or (), done, REROUTABLE, "re-routed")

    # -- helpers -------------------------------------------------------------------

    def _reader(self) -> Engine:
        """An engine of its own for the listing reads (the store keeps its engine private)."""
        from smtpq.queue.store.sql.engine import READ_ONLY, make_engine

        if self._engine is None:
            self._engine = make_engine(self.url)
        return self._engine.execution_options(**READ_ONLY)

    def _take_back_stranded(self, ids: Sequence[int], now: datetime | None = None) -> list[int]:
        """Queue again, due now, those of *ids* held by a flusher of this host that is gone."""
        if not ids or self._store is None:
            return []
        dead = [holder for holder in self._store.claim_holders() if holders.is_dead(holder)]
        if not dead:
            return []
        return [message_id for batch in _id_batches(ids) if batch is not None
                for message_id in self._store.release_claims(dead, now or utc_now(), ids=batch)]

    def _purgeable(self, message_id: int, selection: Selection) -> bool:
        try:
            detail = self.detail(message_id)
        except MessageNotFound:
            return False
        busy = detail.status is MessageStatus.SENDING and not holders.is_dead(detail.claimed_by)
        return not busy and _older(detail.created, selection.older_than)

    def _unknown(self, ids: Sequence[int]) -> list[Refusal]:
        return [_not_found(message_id) for message_id in ids]

    def _purge_refusal(self, message_id: int) -> Refusal | None:
        refusal, _ = self._unknown_or_busy(message_id, "purged")
        return refusal  # None: kept by --older-than, not a failure

    def _unknown_or_busy(self, message_id: int, verb: str) -> tuple[Refusal | None, MessageDetail | None]:
        """Why *message_id* cannot be *verb* whatever its state (unknown, being sent), or its detail."""
        try:
            detail = self.detail(message_id)
        except MessageNotFound:
            return _not_found(message_id), None
        if detail.status is MessageStatus.SENDING:
            # A live flusher holds it (a dead one's claim is taken back first).
            return Refusal(message_id, f"message {message_id} is being sent{_by(detail)}; "
                           f"not {verb}", ExitCode.EX_TEMPFAIL), detail
        return None, detail

    def _each_batch(self, ids: Sequence[int],
                    change: Callable[[SqlStore, Sequence[int]], list[int]]) -> list[int]:
        """*change* applied to *ids* a batch at a time (none when the database is missing)."""
        store = self._store
        if store is None:
            return []
        return [message_id for batch in _id_batches(ids) if batch is not None
                for message_id in change(store, batch)]

    def _result(self, asked: Sequence[int], done: list[int],
                 allowed: Sequence[MessageStatus], verb: str) -> ActionResult:
        """*done*, and a refusal for each id in *asked* left alone."""
        return ActionResult(done, [self._refusal(message_id, allowed, verb)
                                   for message_id in _left(asked, done)])

    def _refusal(self, message_id: int, allowed: Sequence[MessageStatus], verb: str) -> Refusal:
        """Why *message_id* was not *verb*: unknown, being sent, or in the wrong state."""
        refusal, detail = self._unknown_or_busy(message_id, verb)
        if refusal is not None:
            return refusal
        assert detail is not None  # no refusal: the message exists
        names = [status.value for status in allowed]
        listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
        return Refusal(message_id, f"message {message_id} is {detail.status.value}: "
                       f"only {listed} messages can be {verb}", ExitCode.EX_USAGE)


def _by(detail: MessageDetail) -> str:
    """`` by HOST:PID`` (a live flusher, or one on another host), or nothing if unnamed."""
    holder = holders.parse(detail.claimed_by)
    if holder is None:
        return ""
    where = " on another host" if holders.alive(holder) is None else ""
    return f" by flusher {holder.name}{where}"


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
