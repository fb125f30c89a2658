"""Routes side by side: one thread per route, so a stalled server holds only its own mail.

A flush delivers each route (account) in its own thread, a *lane*, with the
route's own connection (``RouteCouriers``).  The claim loop hands each batch's
groups to their lanes and claims the next batch once every lane is either
idle or stuck — busy without recording a verdict for ``STUCK_AFTER`` seconds,
as a lane whose server stalls is until its stage deadline
(``smtpq.sender.protocol.deadlines``).  So a healthy route's mail is claimed
and sent while another route's server keeps its lane waiting; mail claimed for
a stuck lane waits in its backlog (its leases renewed by the claim loop), and
at most ``MAX_CLAIMED`` mails are claimed at once.  Blocking sockets release
the GIL while they wait, so a waiting lane costs a thread, not the CPU.

A route whose server missed a stage deadline is not tried again by this
flush: the lane records its remaining mail (its backlog and what comes later)
with the same failure at once, without connecting (``route_delivery``).

Verdicts are recorded from the lanes through the worker, under its lock
(``Worker.record``; ``GroupCommit`` is thread-safe).  A lane's unexpected
error stops the flush: the claim loop raises it at its next wait.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable

from smtpq.queue.flush.routes import RouteKey
from smtpq.queue.records import ClaimedMessage
from smtpq.sender.delivery.outcome import DeliveryOutcome

#: A lane that recorded no verdict this long is stuck: the claim loop goes on without it.
STUCK_AFTER = 2.0
#: Most mails claimed and not yet recorded at once (mostly a stuck lane's backlog).
MAX_CLAIMED = 1000
#: How often the waiting claim loop looks up (and renews the leases: ``Worker.renew``).
TICK = 0.5

#: Delivers one route's group; returns the route's deadline failure, if it had one.
Deliver = Callable[[RouteKey, list[ClaimedMessage]], DeliveryOutcome | None]
#: Records a group for a route that missed a deadline before, without trying it.
Skip = Callable[[RouteKey, list[ClaimedMessage], DeliveryOutcome], None]


class _Lane:
    """One route's thread and what waits for it."""

    def __init__(self, key: RouteKey) -> None:
        self.key = key
        self.backlog: collections.deque[list[ClaimedMessage]] = collections.deque()
        self.busy = False
        self.progressed = 0.0  # time.monotonic() of its last verdict or start
        self.timed_out: DeliveryOutcome | None = None  # a missed deadline: route given up
        self.thread: threading.Thread | None = None

    def stuck(self, now: float) -> bool:
        return self.busy and now - self.progressed >= STUCK_AFTER

    def idle(self) -> bool:
        return not self.busy and not self.backlog


class RouteLanes:
    """The lanes of one worker; see the module documentation."""

    def __init__(self, deliver: Deliver, skip: Skip) -> None:
        self._deliver, self._skip = deliver, skip
        self._changed = threading.Condition()
        self._lanes: dict[RouteKey, _Lane] = {}
        self._by_thread: dict[int, _Lane] = {}
        self._failure: BaseException | None = None
        self._stopping = False  # no more work will come: lanes end once idle
        self._aborting = False  # the flush ends abnormally: feeds stop at the next mail

    # -- the claim loop's side ---------------------------------------------------
    def hand(self, key: RouteKey, messages: list[ClaimedMessage]) -> None:
        """Queue *messages* (one route's) on the route's lane, starting it if need be."""
        with self._changed:
            lane = self._lanes.get(key)
            if lane is None:
                lane = self._lanes[key] = _Lane(key)
            lane.backlog.append(messages)
            if lane.thread is None:
                lane.thread = threading.Thread(target=self._run, args=(lane,), daemon=True,
                                               name=f"smtpq-route-{key.account or 'default'}")
                lane.thread.start()
            self._changed.notify_all()

    def wait_for_room(self, claimed: Callable[[], int], tick: Callable[[], None]) -> None:
        """Return once every lane is idle or stuck and fewer than ``MAX_CLAIMED`` mails
        are *claimed*; *tick* runs every ``TICK`` seconds meanwhile (lease renewal)."""
        def room(now: float) -> bool:
            lanes = self._lanes.values()
            if all(lane.idle() for lane in lanes):
                return True
            return claimed() < MAX_CLAIMED and all(lane.idle() or lane.stuck(now)
                                                   for lane in lanes)

        self._wait(room, tick)

    def wait_until_idle(self, tick: Callable[[], None], at_most: float | None = None) -> bool:
        """Wait until every lane has done all its work (*tick* as ``wait_for_room``), or
        *at_most* seconds; whether they have."""
        return self._wait(lambda now: all(lane.idle() for lane in self._lanes.values()), tick,
                          at_most)

    def _wait(self, done: Callable[[float], bool], tick: Callable[[], None],
              at_most: float | None = None) -> bool:
        until = None if at_most is None else time.monotonic() + at_most
        while True:
            with self._changed:
                self._raise_failure()
                if done(time.monotonic()):
                    return True
                self._changed.wait(TICK)
                self._raise_failure()
            tick()
            if until is not None and time.monotonic() >= until:
                return False

    def _raise_failure(self) -> None:
        failure, self._failure = self._failure, None
        if failure is not None:
            raise failure

    def drop_backlogs(self) -> None:
        """Forget every group not yet started (its claims are given up)."""
        with self._changed:
            for lane in self._lanes.values():
                lane.backlog.clear()
            self._changed.notify_all()

    def abandon(self) -> None:
        """A second stop signal: no lane starts another group, and nobody waits for the
        ones under way (their threads are daemons; their mail is given back)."""
        with self._changed:
            self._aborting = True
            for lane in self._lanes.values():
                lane.backlog.clear()
            self._changed.notify_all()

    def stop(self) -> None:
        """No lane starts another group; wait for those under way (the flush is ending
        abnormally: their feeds stop at the next mail, see ``Worker.keep_feeding``)."""
        with self._changed:
            self._aborting = True
            for lane in self._lanes.values():
                lane.backlog.clear()
            self._changed.notify_all()
        self.join()

    @property
    def aborting(self) -> bool:
        """True once ``stop`` was called: no lane may start sending another mail."""
        return self._aborting

    def join(self) -> None:
        """End every lane's thread (call once no more work will be handed)."""
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
            threads = [lane.thread for lane in self._lanes.values() if lane.thread is not None]
        for thread in threads:
            thread.join()

    def finished(self) -> bool:
        """Whether no lane's thread runs any more (their connections are free)."""
        return not any(lane.thread is not None and lane.thread.is_alive()
                       for lane in self._lanes.values())

    # -- the lanes' side -----------------------------------------------------------
    def progressed(self) -> None:
        """The calling lane recorded a verdict (it is not stuck)."""
        lane = self._by_thread.get(threading.get_ident())
        if lane is not None:
            lane.progressed = time.monotonic()

    def _run(self, lane: _Lane) -> None:
        self._by_thread[threading.get_ident()] = lane
        while (messages := self._next(lane)) is not None:
            try:
                self._work(lane, messages)
            except BaseException as error:  # noqa: BLE001 - raised by the claim loop
                with self._changed:
                    self._failure = self._failure or error
                    lane.backlog.clear()
            finally:
                with self._changed:
                    lane.busy = False
                    self._changed.notify_all()

    def _next(self, lane: _Lane) -> list[ClaimedMessage] | None:
        with self._changed:
            while not lane.backlog:
                if self._stopping:
                    return None
                self._changed.wait()
            lane.busy, lane.progressed = True, time.monotonic()
            return lane.backlog.popleft()

    def _work(self, lane: _Lane, messages: list[ClaimedMessage]) -> None:
        if lane.timed_out is not None:
            self._skip(lane.key, messages, lane.timed_out)
            return
        lane.timed_out = self._deliver(lane.key, messages)
