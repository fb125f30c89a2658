"""Route lanes: each route in its own thread; a stuck one does not hold the claim loop back.

The lanes are driven here with plain functions for the deliveries (the real
ones, against real servers, are in ``test_flush_stalled_server.py``): what is
checked is the hand-off — order within a route, independence between routes,
when the claim loop may claim again, and that a route which missed a deadline
is given up for the rest of the flush.
"""

from __future__ import annotations

import threading
import time

import pytest

from smtpq.queue.flush import route_lanes
from smtpq.queue.flush.route_lanes import RouteLanes
from smtpq.queue.flush.routes import RouteKey

A = RouteKey("stalled", None, ())
B = RouteKey("healthy", None, ())


class Routes:
    """Deliveries that record what they were given; route A blocks until released."""

    def __init__(self) -> None:
        self.delivered: dict[str, list[object]] = {"stalled": [], "healthy": []}
        self.skipped: list[object] = []
        self.release = threading.Event()
        self.timed_out: object | None = None

    def deliver(self, key: RouteKey, messages: list) -> object | None:  # type: ignore[type-arg]
        if key == A:
            self.release.wait(30)
        self.delivered[key.account] += messages
        return self.timed_out if key == A else None

    def skip(self, key: RouteKey, messages: list, outcome: object) -> None:  # type: ignore[type-arg]
        self.skipped += messages


def test_a_stuck_route_lets_the_claim_loop_go_on_and_the_others_deliver() -> None:
    routes = Routes()
    lanes = RouteLanes(routes.deliver, routes.skip)
    lanes.hand(A, [1, 2])
    lanes.hand(B, [3])
    started = time.monotonic()
    lanes.wait_for_room(lambda: 3, lambda: None)  # returns once A counts as stuck
    assert time.monotonic() - started >= route_lanes.STUCK_AFTER * 0.9
    assert routes.delivered["healthy"] == [3]
    lanes.hand(B, [4, 5])
    deadline = time.monotonic() + 30
    while routes.delivered["healthy"] != [3, 4, 5] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert routes.delivered == {"stalled": [], "healthy": [3, 4, 5]}

    routes.release.set()
    assert lanes.wait_until_idle(lambda: None, at_most=30)
    lanes.join()
    assert routes.delivered["stalled"] == [1, 2]
    assert lanes.finished()


def test_a_route_that_missed_a_deadline_is_not_tried_again() -> None:
    routes = Routes()
    routes.release.set()
    routes.timed_out = "timed out after 2 s waiting for the greeting"
    lanes = RouteLanes(routes.deliver, routes.skip)
    lanes.hand(A, [1])
    lanes.hand(A, [2, 3])
    assert lanes.wait_until_idle(lambda: None, at_most=30)
    lanes.hand(A, [4])
    assert lanes.wait_until_idle(lambda: None, at_most=30)
    lanes.join()
    assert routes.delivered["stalled"] == [1]
    assert routes.skipped == [2, 3, 4]


def test_an_error_in_a_route_reaches_the_claim_loop() -> None:
    def deliver(key: RouteKey, messages: list) -> None:  # type: ignore[type-arg]
        raise RuntimeError("store unwritable")

    lanes = RouteLanes(deliver, lambda *args: None)
    lanes.hand(B, [1])
    with pytest.raises(RuntimeError, match="store unwritable"):
        lanes.wait_until_idle(lambda: None, at_most=30)
    lanes.join()
