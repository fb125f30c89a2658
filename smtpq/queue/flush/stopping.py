"""A flusher asked to stop: SIGINT/SIGTERM once to finish the mail on the wire, twice to drop it.

``install`` (by the flush command) makes SIGINT and SIGTERM set a flag
instead of killing the process.  The flusher looks at it where the next mail
would be pulled (``route_delivery._Feed``) and where the next batch would be
claimed, finishes the mail already on its way, records every outcome, gives
back the claims it has not started, QUITs and exits 75 (EX_TEMPFAIL).  A
second signal raises ``Abandoned`` wherever the flusher is (a blocking read
of a server's reply included): the mail on the wire is dropped, the
connection closed without QUIT, and its claim given back too (at-least-once:
RFC 5321 §3.8, a mail whose fate is unknown is sent again).

``parallel_connections`` workers ignore SIGINT/SIGTERM themselves (Ctrl-C
reaches the whole process group: each would count it once more) and take
``SIGUSR1`` from their flusher instead, once per signal it got (``forward_to``).
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from types import FrameType

from smtpq.queue.errors import Abandoned

#: The signals that ask a flusher to stop (Ctrl-C; systemd's and kill's default).
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
#: What a flusher sends its worker processes for each stop signal it got.
WORKER_SIGNAL = signal.SIGUSR1
_HELD = (*STOP_SIGNALS, WORKER_SIGNAL)

_state = {"count": 0}
_workers: list[int] = []


def requested() -> bool:
    """Whether a stop signal came: pull no more mail, claim nothing more."""
    return _state["count"] > 0


def abandoned() -> bool:
    """Whether a second stop signal came: the mail on the wire is left, given back."""
    return _state["count"] > 1


def request() -> None:
    """Stop as a first signal would (also what the handler does)."""
    _state["count"] += 1
    if _state["count"] > 1:
        raise Abandoned


def reset() -> None:
    """Forget a stop request (a new flush in the same process)."""
    _state["count"] = 0


def _on_signal(signum: int, _frame: FrameType | None) -> None:
    for pid in list(_workers):
        with suppress(OSError):  # a worker that already ended
            os.kill(pid, WORKER_SIGNAL)
    request()


@contextmanager
def installed() -> Iterator[None]:
    """SIGINT/SIGTERM stop the flush (see the module doc) while inside; restored after."""
    reset()
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set handlers (a flush run from a test's thread)
        return
    previous = {signum: signal.signal(signum, _on_signal) for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextmanager
def held() -> Iterator[None]:
    """The stop signals (and ``WORKER_SIGNAL``) wait, blocked, while inside: around
    starting worker processes, so that each signal reaches every worker exactly once
    (``as_worker``, ``forward_to``), and around reading a worker's report."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _HELD)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def as_worker() -> None:
    """In a forked worker (signals ``held``): stop on the flusher's ``WORKER_SIGNAL``
    only; a stop signal sent to the whole process group is the flusher's to pass on."""
    _workers.clear()
    _state["count"] = 0  # the flusher passes on every stop it got (``forward_to``)
    for signum in STOP_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)
    signal.signal(WORKER_SIGNAL, _on_signal)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _HELD)


def ignore() -> None:
    """In a worker that is done: stop signals have nothing left to stop (and must not
    cut short the report it sends its flusher)."""
    for signum in _HELD:
        signal.signal(signum, signal.SIG_IGN)


def forward_to(pids: list[int]) -> None:
    """Pass each stop signal on to the worker processes *pids* from now on (call it with
    the signals ``held``); the stops requested before are passed on at once."""
    _workers.extend(pids)
    for _ in range(_state["count"]):
        for pid in pids:
            with suppress(OSError):
                os.kill(pid, WORKER_SIGNAL)


def forget(pids: list[int]) -> None:
    """The worker processes *pids* have ended: stop passing signals on to them."""
    for pid in pids:
        with suppress(ValueError):
            _workers.remove(pid)


def checked(keep_going: Callable[[], bool]) -> Callable[[], bool]:
    """*keep_going*, and no stop requested."""
    return lambda: not requested() and keep_going()
