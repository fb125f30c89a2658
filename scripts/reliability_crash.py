"""The crash campaign (run by ``scripts/crash-test``): flushes killed with SIGKILL at random.

Writers (``--writers`` processes' worth of ``smtpq-sendmail`` in threads) keep
enqueuing while ``--flushes`` ``smtpq flush`` processes run one after another,
each killed with SIGKILL after a random delay (0 to ``--max-delay`` seconds:
during start-up, claiming, talking SMTP or committing).  Then the writers
stop, the dead flushers' claims lapse (``claim_lease`` 1s) and ``smtpq flush
--now`` drains the queue.  Checked: every mail whose enqueue exited 0 reached
the server at least once (none lost), duplicates ≤ the connections the server
saw end without QUIT after taking a mail, times ``UNRECORDED_AT_MOST`` (each
kill can strand the mails whose verdicts were not yet committed: the group
commit's window, see docs/reliability.md), every row is ``sent``, ``PRAGMA
integrity_check`` is ok.  ``--parallel N`` runs the flushes with
``parallel_connections = N``.
Exits 1 if any check fails.  Prints one summary line.
"""

from __future__ import annotations

import argparse
import random
import signal
import subprocess
import threading
import time

from reliability_common import SMTPQ, World

from smtpq.queue.group_commit import UNRECORDED_AT_MOST


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flushes", type=int, default=200)
    parser.add_argument("--writers", type=int, default=2)
    parser.add_argument("--max-delay", type=float, default=1.5)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--parallel", type=int, default=1)
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    world = World(after_enqueue="none", claim_lease="1s", parallel_connections=args.parallel)
    accepted: list[str] = []
    refused: list[str] = []
    stop = threading.Event()

    def writer(number: int) -> None:
        count = 0
        while not stop.is_set():
            tag = f"w{number}-{count}"
            count += 1
            result = world.sendmail(tag)
            (accepted if result.returncode == 0 else refused).append(tag)
            if result.returncode != 0:
                print(f"enqueue {tag} exited {result.returncode}: {result.stderr!r}")

    first = world.sendmail("w-first")  # the queue exists before the writers race
    (accepted if first.returncode == 0 else refused).append("w-first")
    threads = [threading.Thread(target=writer, args=(n,)) for n in range(args.writers)]
    for thread in threads:
        thread.start()
    started = time.monotonic()
    killed = 0
    try:
        for _ in range(args.flushes):
            flusher = subprocess.Popen([SMTPQ, "flush", "--now"], env=world.env,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                flusher.wait(rng.uniform(0, args.max_delay))
            except subprocess.TimeoutExpired:
                flusher.send_signal(signal.SIGKILL)
                killed += 1
            flusher.wait()
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    time.sleep(1.2)  # the last dead flusher's claims lapse
    world.drain()

    copies = world.copies()
    lost = [tag for tag in accepted if copies[tag] == 0]
    duplicates = sum(n - 1 for n in copies.values() if n > 1)
    statuses = world.statuses()
    integrity = world.integrity()
    window = world.server.abrupt * UNRECORDED_AT_MOST
    ok = (not lost and not refused and duplicates <= window
          and world.server.abrupt <= killed * args.parallel
          and set(statuses) == {"sent"} and integrity == "ok")
    print(f"crash-test: flushes={args.flushes} killed={killed} accepted={len(accepted)} "
          f"delivered={sum(1 for t in accepted if copies[t])} lost={len(lost)} "
          f"duplicates={duplicates} in-flight-kills={world.server.abrupt} "
          f"max-duplicates={window} parallel={args.parallel} "
          f"refused-enqueues={len(refused)} rows={dict(statuses)} integrity={integrity} "
          f"seconds={time.monotonic() - started:.0f} seed={seed} {'OK' if ok else 'FAILED'}")
    world.close()
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
