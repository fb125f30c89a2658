"""The crash campaign (run by ``scripts/crash-test``): flushes interrupted and killed at random.

Writers (``--writers`` processes' worth of ``smtpq-sendmail`` in threads) keep
enqueuing while ``--flushes`` ``smtpq flush`` processes run one after another,
each hit after a random delay (0 to ``--max-delay`` seconds: during start-up,
claiming, talking SMTP or committing) by one of, at random:

* SIGINT or SIGTERM (Ctrl-C, systemd): the flusher must stop cleanly, exit 75
  (or 0 if it had finished), and leave nothing ``sending``;
* SIGKILL (the OOM killer, power loss);
* SIGSTOP, then a second flush (which must find the lock taken and leave the
  stopped flusher's claims alone), then SIGCONT: the flusher must finish.

All with the default settings (``claim_lease`` 5 min): nothing waits for a
lease.  Then the writers stop and ONE plain ``smtpq flush`` (after any
orphaned ``parallel_connections`` worker has ended) must deliver everything.
Checked: every mail whose enqueue exited 0 reached the server (none lost),
duplicates ≤ the connections the server saw end without QUIT after taking a
mail, times ``UNRECORDED_AT_MOST`` (the group commit's window, see
docs/reliability.md), every row is ``sent``, ``PRAGMA integrity_check`` is
ok.  ``recovery`` is the time from the last blow to all delivered.  Then the
recovery times with a backlog: ``--backlog`` mails queued, a flush hit by
SIGKILL (then SIGTERM) once the server has taken a tenth of them, and the
time from the blow until one plain ``smtpq flush`` has delivered the rest
(``recovery-after-kill``, ``recovery-after-term``).
``--parallel N`` runs the flushes with ``parallel_connections = N``.
Exits 1 if any check fails.  Prints one summary line.
"""

from __future__ import annotations

import argparse
import collections
import random
import signal
import subprocess
import threading
import time

from reliability_common import SMTPQ, World

from smtpq.queue.flush.group_commit import UNRECORDED_AT_MOST

#: How each flush is hit, equally often.
BLOWS = ("SIGINT", "SIGTERM", "SIGKILL", "SIGSTOP")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flushes", type=int, default=200)
    parser.add_argument("--writers", type=int, default=2)
    parser.add_argument("--max-delay", type=float, default=1.5)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--parallel", type=int, default=1)
    parser.add_argument("--backlog", type=int, default=300)
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    world = World(after_enqueue="none", parallel_connections=args.parallel)
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
    blows: collections.Counter[str] = collections.Counter()
    problems: list[str] = []
    try:
        for _ in range(args.flushes):
            blow = rng.choice(BLOWS)
            if hit(world, blow, rng.uniform(0, args.max_delay), problems):
                blows[blow] += 1
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    last_kill = time.monotonic()
    world.wait_for_lock()  # an orphaned parallel worker finishes its batch first
    world.smtpq("flush")  # one plain flush: no --now, no lease to wait for
    recovery = time.monotonic() - last_kill
    after = {blow: recover_backlog(world, blow, args.backlog, accepted, problems)
             for blow in ("SIGKILL", "SIGTERM")}

    copies = world.copies()
    lost = [tag for tag in accepted if copies[tag] == 0]
    duplicates = sum(n - 1 for n in copies.values() if n > 1)
    statuses = world.statuses()
    integrity = world.integrity()
    window = world.server.abrupt * UNRECORDED_AT_MOST
    ok = (not lost and not refused and not problems and duplicates <= window
          and set(statuses) == {"sent"} and integrity == "ok")
    for problem in problems:
        print(problem)
    print(f"crash-test: flushes={args.flushes} hit={dict(sorted(blows.items()))} "
          f"accepted={len(accepted)} delivered={sum(1 for t in accepted if copies[t])} "
          f"lost={len(lost)} duplicates={duplicates} in-flight-kills={world.server.abrupt} "
          f"max-duplicates={window} parallel={args.parallel} "
          f"refused-enqueues={len(refused)} rows={dict(statuses)} integrity={integrity} "
          f"recovery={recovery:.1f}s recovery-after-kill={after['SIGKILL']:.1f}s "
          f"recovery-after-term={after['SIGTERM']:.1f}s backlog={args.backlog} "
          f"seconds={time.monotonic() - started:.0f} seed={seed} "
          f"{'OK' if ok else 'FAILED'}")
    world.close()
    return 0 if ok else 1


def recover_backlog(world: World, blow: str, backlog: int, accepted: list[str],
                    problems: list[str]) -> float:
    """Queue *backlog* mails, deal a flush *blow* once the server took a tenth of them;
    seconds from the blow until one plain flush has delivered all (inf if it did not)."""
    tags = [f"{blow}-{n}" for n in range(backlog)]
    for tag in tags:
        if world.sendmail(tag).returncode == 0:
            accepted.append(tag)
    before = len(world.server.accepted)
    flusher = subprocess.Popen([SMTPQ, "flush"], env=world.env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while len(world.server.accepted) - before < backlog // 10 and flusher.poll() is None:
        time.sleep(0.01)
    struck = time.monotonic()
    flusher.send_signal(getattr(signal, blow))
    flusher.wait(120)
    world.wait_for_lock()
    world.smtpq("flush")
    took = time.monotonic() - struck
    pending = sum(world.statuses()[s] for s in ("queued", "deferred", "sending"))
    if pending:
        problems.append(f"{blow} with a backlog: {pending} message(s) not delivered")
        return float("inf")
    return took


def hit(world: World, blow: str, delay: float, problems: list[str]) -> bool:
    """Run one ``smtpq flush`` and deal it *blow* after *delay* s; False if it ended first."""
    flusher = subprocess.Popen([SMTPQ, "flush"], env=world.env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        flusher.wait(delay)
        flusher.stderr.close()  # type: ignore[union-attr]
        return False
    except subprocess.TimeoutExpired:
        pass
    if blow == "SIGSTOP":
        stopped_then_continued(world, flusher, problems)
        return True
    flusher.send_signal(getattr(signal, blow))
    _, stderr = flusher.communicate(timeout=120)
    code = flusher.returncode
    if blow != "SIGKILL":
        # 75 once stopped cleanly; 0 if it finished meanwhile.  Before smtpq's handler
        # is in place (the interpreter still starting, nothing claimed yet) Python's
        # default ends it: killed by the signal, or a KeyboardInterrupt while importing.
        starting = code in (-signal.SIGTERM, -signal.SIGINT) or (
            b"KeyboardInterrupt" in stderr and b"smtpq/queue/" not in stderr)
        if code not in (0, 75) and not starting:
            problems.append(f"{blow}: flush exited {code}: {stderr!r}")
        left = world.statuses()["sending"]
        if code in (0, 75) and left and world.lock_free():
            problems.append(f"{blow}: exit {code} left {left} message(s) sending")
    return True


def stopped_then_continued(world: World, flusher: subprocess.Popen[bytes],
                           problems: list[str]) -> None:
    """SIGSTOP; a second flush must leave the stopped one's claims alone; SIGCONT."""
    flusher.send_signal(signal.SIGSTOP)
    sending = world.statuses()["sending"]
    second = world.smtpq("flush")
    if second.returncode != 0:
        problems.append(f"SIGSTOP: a second flush exited {second.returncode}")
    if sending and world.statuses()["sending"] < sending and not world.lock_free():
        problems.append("SIGSTOP: a second flush took the stopped flusher's claims")
    flusher.send_signal(signal.SIGCONT)
    try:
        _, stderr = flusher.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        flusher.kill()
        flusher.communicate()
        problems.append("SIGCONT: the continued flush did not finish in 120 s")
        return
    if flusher.returncode != 0:
        problems.append(f"SIGCONT: the continued flush exited {flusher.returncode}: {stderr!r}")


if __name__ == "__main__":
    raise SystemExit(main())
