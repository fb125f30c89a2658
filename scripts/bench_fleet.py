"""Throughput of flush workers draining one queue (run by ``scripts/bench-fleet``).

For each configuration: a fresh queue of ``--mails`` mails (default 5,000,
loaded in bulk), a fresh SMTP sink on 127.0.0.1 (Postfix's ``smtp-sink``
when installed: it costs the machine least; else aiosmtpd), then N worker
processes (``run_flush`` in a loop, each in its own data directory, as on N
hosts) started together once they have imported everything.  The clock runs
from that start until the last worker exits with the queue empty; every mail
is checked to be ``sent`` afterwards.

PostgreSQL is a throw-away cluster on a Unix socket, with its durable
defaults (fsync, synchronous_commit) unless ``--fast``.  Workers, database
server and SMTP sink share this one machine: the figures are for the whole
system on it (``nproc`` is printed), not for a worker with a machine of its own.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.fleet import CountingServer, Fleet, load_queue  # noqa: E402
from tests.support.postgres import FAST, PostgresCluster, missing  # noqa: E402

SMTP_SINK = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"


class Sink:
    """``smtp-sink`` on a free port (nothing stored), or aiosmtpd when it is missing."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._aiosmtpd: CountingServer | None = None
        if os.access(SMTP_SINK, os.X_OK):
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                self.port = probe.getsockname()[1]
            user = ["-u", "root"] if os.geteuid() == 0 else []
            self._proc = subprocess.Popen([SMTP_SINK, *user, f"127.0.0.1:{self.port}", "256"],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self._wait_listening()
            self.name = "smtp-sink"
        else:
            self._aiosmtpd = CountingServer().start()
            self.port = self._aiosmtpd.port
            self.name = "aiosmtpd"

    def _wait_listening(self) -> None:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("smtp-sink did not start")

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(10)
        if self._aiosmtpd is not None:
            self._aiosmtpd.stop()


def sent_count(url: str) -> int:
    from smtpq.queue.states import MessageStatus
    from smtpq.queue.store.sql.store import open_store

    with open_store(url) as store:
        done, after = 0, 0
        while page := store.list_messages([MessageStatus.SENT], after_id=after, limit=5000):
            done, after = done + len(page), page[-1].id
        return done


def run(url: str, workers: int, mails: int, work: Path) -> tuple[float, str]:
    """Drain *mails* mails from the queue at *url* with *workers* workers; seconds taken."""
    load_queue(url, mails)
    sink = Sink()
    go = work / "go"
    fleet = Fleet(work, url, sink.port, workers=workers, go=go)  # default claim_lease
    try:
        fleet.start()
        deadline = time.monotonic() + 60
        while len(list(work.glob("go.*"))) < workers:
            if time.monotonic() > deadline or len(fleet.running()) < workers:
                raise RuntimeError(f"workers did not get ready\n{fleet.logs()}")
            time.sleep(0.01)
        started = time.monotonic()
        go.touch()
        codes = fleet.wait(timeout=3600)
        took = time.monotonic() - started
    finally:
        fleet.stop()
        sink.stop()
    if codes != [0] * workers:
        raise RuntimeError(f"workers failed: {codes}\n{fleet.logs()}")
    sent = sent_count(url)
    if sent != mails:
        raise RuntimeError(f"only {sent} of {mails} mails were sent")
    return took, sink.name


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mails", type=int, default=5000, help="mails per run (5000)")
    parser.add_argument("--workers", default="1,4", help="worker counts on PostgreSQL (1,4)")
    parser.add_argument("--fast", action="store_true",
                        help="PostgreSQL without fsync (as the tests run it)")
    parser.add_argument("--no-sqlite", action="store_true", help="skip the SQLite baseline")
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]
    reason = missing()
    if reason is not None:
        print(f"bench-fleet: {reason}", file=sys.stderr)
        return 1

    rows: list[tuple[str, int, float, str]] = []
    with tempfile.TemporaryDirectory(prefix="bench-fleet-") as tmp:
        if not args.no_sqlite:
            work = Path(tmp, "sqlite")
            url = f"sqlite:///{work / 'queue.sqlite3'}"
            work.mkdir()
            took, sink = run(url, 1, args.mails, work)
            rows.append(("sqlite", 1, took, sink))
            print(f"sqlite      1 worker : {args.mails / took:7.0f} mails/s", flush=True)
        settings = FAST if args.fast else ()
        with PostgresCluster(settings=settings) as cluster:
            version = cluster.execute("SHOW server_version")[0][0]
            for n in counts:
                work = Path(tmp, f"pg{n}")
                work.mkdir()
                url = cluster.new_database(f"bench{n}")
                took, sink = run(url, n, args.mails, work)
                rows.append(("postgresql", n, took, sink))
                print(f"postgresql  {n} worker{'s' if n > 1 else ' '}: "
                      f"{args.mails / took:7.0f} mails/s", flush=True)

    durability = "fsync off" if args.fast else "durable defaults"
    print(f"\n{args.mails} mails per run, {os.cpu_count()} CPUs, PostgreSQL {version} "
          f"({durability}, Unix socket), SMTP server: {rows[-1][3]} on 127.0.0.1\n")
    print("| queue | workers | seconds | mails/s |")
    print("|---|---:|---:|---:|")
    for engine, n, took, _ in rows:
        print(f"| {engine} | {n} | {took:.1f} | {args.mails / took:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
