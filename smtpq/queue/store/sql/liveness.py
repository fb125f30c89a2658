"""Claim liveness on PostgreSQL: a flush worker is alive while its database session is.

As the job queues built on PostgreSQL do it (Oban, que, GoodJob): each worker
process holds a session-level advisory lock with a random 63-bit key on a
connection of its own, kept open for its whole life (``ClaimSession``), and
stamps every claim it makes with that key (``messages.claim_token``).  The
server drops the lock the moment the session ends — the worker exited, was
SIGKILLed, or its connection broke — so a ``sending`` row whose token no live
session holds (``pg_locks``) belongs to a dead worker, and the next claim on
any host takes it back at once (``dead_claims``), without waiting for its lease.

The lease stays as the backstop for a worker that hangs while its session
lives (a frozen VM, SIGSTOP): the session's thread renews the leases of its
claims (``HEARTBEAT``) while the process runs, so a long upload is never taken
over while its worker is alive, and a process that stops running stops
renewing.  A host that vanishes without closing its TCP connection (power
loss) is noticed by the server's keepalive probes, which the session asks for
(``KEEPALIVE``), instead of after the operating system's two hours.

SQLite has none of this: ``claim_token`` stays NULL there, and the per-host
flush lock proves liveness.
"""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Collection
from datetime import UTC, datetime, timedelta

from sqlalchemy import (
    BigInteger,
    Connection,
    Engine,
    and_,
    column,
    literal_column,
    select,
    table,
    text,
    update,
)
from sqlalchemy.sql.elements import ColumnElement

from smtpq.queue.states import MessageStatus
from smtpq.queue.store.sql.models import messages

M = messages.c

#: Longest time between two lease renewals of a live worker, in seconds (a third
#: of the lease when that is shorter): also how soon a broken session is noticed.
HEARTBEAT = 30.0
#: How long closing waits for a renewal in progress, in seconds.
CLOSE_WAIT = 10.0
#: Server-side TCP keepalive of the session (seconds idle, between probes, probes):
#: a host that vanished is dropped, and its claims freed, within about 25 s.
KEEPALIVE = {"tcp_keepalives_idle": 10, "tcp_keepalives_interval": 5, "tcp_keepalives_count": 3}

_locks = table("pg_locks", column("locktype"), column("granted"), column("classid"),
               column("objid"), column("objsubid"), column("database"))
#: The keys of every advisory lock held now in this database, as the bigint given to
#: ``pg_advisory_lock(bigint)``: pg_locks shows it split into classid (high 32 bits)
#: and objid (low 32 bits), with objsubid 1 (PostgreSQL docs, "pg_locks").
LIVE_TOKENS = select(
    literal_column("(pg_locks.classid::bigint << 32) | pg_locks.objid::bigint", BigInteger),
).select_from(_locks).where(
    _locks.c.locktype == "advisory", _locks.c.granted, _locks.c.objsubid == 1,
    _locks.c.database == text("(SELECT oid FROM pg_database WHERE datname = current_database())"),
)


def dead_claims() -> ColumnElement[bool]:
    """Rows claimed by a worker whose session is gone."""
    return and_(M.status == MessageStatus.SENDING, M.claim_token.is_not(None),
                M.claim_token.not_in(LIVE_TOKENS.scalar_subquery()))


def holders_alive(connection: Connection, ids: Collection[int]) -> dict[int, bool]:
    """For each ``sending`` message of *ids* with a claim token: whether its holder's
    session is alive."""
    live = set(connection.execute(LIVE_TOKENS).scalars())
    rows = connection.execute(select(M.id, M.claim_token).where(
        M.id.in_(list(ids)), M.status == MessageStatus.SENDING, M.claim_token.is_not(None)))
    return {message_id: token in live for message_id, token in rows}


class ClaimSession:
    """This process's liveness on the server: an advisory lock held on a connection
    of its own, and a thread renewing the leases of the claims stamped with its key."""

    def __init__(self, engine: Engine, lease: timedelta) -> None:
        self.pid = os.getpid()  # a forked child opens its own (never uses this one)
        self.lease = lease
        #: The session broke (a server restart, a network failure): its lock is gone, the
        #: claims stamped with its key are free for others; never used again.
        self.lost = False
        self._use = threading.Lock()  # the connection: the worker's thread or the heartbeat
        self._connection = engine.connect()
        try:
            self.token = self._lock()
        except BaseException:
            self._connection.close()
            raise
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._heartbeat, name="smtpq-claim-heartbeat",
                                        daemon=True)
        self._thread.start()

    def _lock(self) -> int:
        c = self._connection
        with c.begin():
            for name, value in KEEPALIVE.items():
                c.exec_driver_sql(f"SET {name} = {int(value)}")
            while True:  # a key held by a live session already: draw another
                token = secrets.randbits(63)
                if c.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": token}).scalar():
                    return token

    def alive(self) -> bool:
        """Whether the session (and so its lock) is still there: one round trip.

        A claim stamped with the key of a broken session would be taken back by
        the next claim of any worker, and sent twice: the store asks before claiming.
        """
        if not self.lost:
            try:
                with self._use, self._connection.begin():
                    self._connection.execute(text("SELECT 1"))
            except Exception:  # noqa: BLE001 - any failure: the session is not to be trusted
                self.lost = True
        return not self.lost

    def _heartbeat(self) -> None:
        interval = min(HEARTBEAT, self.lease.total_seconds() / 3)
        while not self._stop.wait(interval):
            try:
                self.renew()
            except Exception:  # noqa: BLE001 - session broken: the claims are free for others
                self.lost = True  # and the worker's renewals report them lost
                return

    def renew(self) -> int:
        """Push back the lease of every claim stamped with this session's key; how many.

        Rows locked right now (a verdict being committed, a sweep) are skipped
        rather than waited for: no lock-order deadlock with the worker's own
        transactions, and the next beat renews them.
        """
        mine = select(M.id).where(M.status == MessageStatus.SENDING,
                                  M.claim_token == self.token).order_by(M.id).with_for_update(
            skip_locked=True, key_share=True)
        until = datetime.now(UTC) + self.lease
        with self._use, self._connection.begin():
            result = self._connection.execute(update(messages).where(
                M.id.in_(mine), M.claim_token == self.token,
            ).values(claim_expires=until))
            return result.rowcount

    def close(self) -> None:
        """Stop renewing and let the lock go (claims still stamped with it are then free)."""
        self._stop.set()
        self._thread.join(timeout=CLOSE_WAIT)
        if self._thread.is_alive():  # a renewal stuck on a dead network: leave it to exit
            self.lost = True
            return
        try:
            if not self.lost:  # (a broken connection would reconnect: not worth it)
                with self._use, self._connection.begin():
                    self._connection.execute(text("SELECT pg_advisory_unlock(:k)"),
                                             {"k": self.token})
        except Exception:  # noqa: BLE001 - a broken session has let the lock go already
            pass
        finally:
            self._connection.close()
