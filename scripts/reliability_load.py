"""The load test (run by ``scripts/load-test``): many concurrent enqueuers while flushes run.

``--writers`` (default 20) threads each run ``--mails`` (default 500)
``smtpq-sendmail`` processes one after the other, all at once, with
``after_enqueue = "flush"`` (every enqueue may start a detached flusher) and
``--flushers`` extra ``smtpq flush`` loops running alongside.  Then the queue
is drained.  Checked: every enqueue exited 0, the server got every mail
exactly once, and no caller (enqueue or flush) ever printed "database is
locked".  Exits 1 if any check fails.  Prints one summary line.
"""

from __future__ import annotations

import argparse
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from reliability_common import World

LOCKED = b"database is locked"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", type=int, default=20)
    parser.add_argument("--mails", type=int, default=500)
    parser.add_argument("--flushers", type=int, default=1)
    args = parser.parse_args()
    world = World(after_enqueue="flush")  # the settings users run with
    failures: list[str] = []
    locked = 0
    stop = threading.Event()
    flushes = 0

    def writer(number: int) -> None:
        nonlocal locked
        for count in range(args.mails):
            result = world.sendmail(f"w{number}-{count}")
            locked += LOCKED in result.stderr
            if result.returncode != 0:
                failures.append(f"w{number}-{count}: {result.returncode} {result.stderr!r}")

    def flusher() -> None:
        nonlocal locked, flushes
        while not stop.is_set():
            result = world.smtpq("flush")
            flushes += 1
            locked += LOCKED in result.stderr
            if result.returncode != 0:
                failures.append(f"flush: {result.returncode} {result.stderr!r}")

    world.sendmail("w-first")  # creates the queue before the writers race
    started = time.monotonic()
    loops = [threading.Thread(target=flusher) for _ in range(args.flushers)]
    for loop in loops:
        loop.start()
    with ThreadPoolExecutor(args.writers) as pool:
        list(pool.map(writer, range(args.writers)))
    enqueued = time.monotonic() - started
    stop.set()
    for loop in loops:
        loop.join()
    world.drain()
    elapsed = time.monotonic() - started

    copies = world.copies()
    expected = {f"w{n}-{c}" for n in range(args.writers) for c in range(args.mails)}
    lost = len([t for t in expected if copies[t] == 0])
    duplicated = sum(n - 1 for t, n in copies.items() if t in expected and n > 1)
    delivered = len([t for t in expected if copies[t]])
    integrity = world.integrity()
    rows = dict(world.statuses())
    ok = not failures and not locked and not lost and not duplicated and integrity == "ok"
    for failure in failures[:10]:
        print(failure)
    taken_in = len(expected) - len([f for f in failures if not f.startswith("flush")])
    print(f"load-test: writers={args.writers} mails={len(expected)} in={taken_in} "
          f"out={delivered} lost={lost} duplicated={duplicated} locked-errors={locked} "
          f"failed-calls={len(failures)} extra-flushes={flushes} enqueue-seconds={enqueued:.0f} "
          f"({len(expected) / enqueued:.0f} mails/s) total-seconds={elapsed:.0f} "
          f"rows={rows} integrity={integrity} {'OK' if ok else 'FAILED'}")
    world.close()
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
