"""``scripts/bench`` sections ``flush``, ``large`` and ``scale``: the queue, drained.

flush  (item 3): per round, in turn: ``smtp-source`` (the ceiling: one connection
       ``-d -s 1``, and four ``-s 4``), ``smtpq flush`` of FLUSH_MSGS queued 4 KiB
       mails on one connection, then with ``parallel_connections`` = each of
       FLUSH_PARALLEL ("2 4"), the compared smtpq (``--compare``, one connection),
       and ``msmtp-queue -r`` of MSMTPQ_MSGS (it manages about 19 a second).
large  (item 5): per round and size (LARGE_MB, default "1 200"): enqueue one mail of
       that size with ``smtpq-sendmail -t -i``, then flush it; wall and peak RSS, each
       started from a small parent (``run_small_parent``: its own peak, not the harness's).
scale  (item 6, ``--scale``, slow): SCALE_MSGS (100,000) queued: ``smtpq list --json``,
       then one flush of them all against the FLUSH_MSGS flushes.

Queues are filled the fast way: one real enqueue through ``smtpq-sendmail``, then
copies of its rows made by SQL (``fill_queue``), so 100,000 mails take seconds.
Every flush is checked against smtp-sink's counter and the queue's statuses.
"""

from __future__ import annotations

import glob
import os
import shutil
import sqlite3
import subprocess

from bench_support import (
    Result,
    make_message,
    queue_db,
    report,
    report_ratio,
    run,
    run_small_parent,
    write_msmtprc,
    write_queue_settings,
)

MSMTPQ_DIR = os.environ.get("MSMTPQ_DIR", "/usr/libexec/msmtp/msmtpq")


class Queue:
    """A scratch HOME with an smtpq queue of copies of one mail, delivering to the sink."""

    def __init__(self, bench, name: str, message: str, count: int,  # type: ignore[no-untyped-def]
                 small_parent: bool = False, parallel: int = 1, venv: str | None = None) -> None:
        self.bench = bench
        self.home = os.path.join(bench.tmp, name)
        shutil.rmtree(self.home, ignore_errors=True)
        os.makedirs(self.home)
        write_msmtprc(os.path.join(self.home, ".msmtprc"), bench.sink.port)
        write_queue_settings(self.home, "none", parallel_connections=parallel)
        self.env = dict(os.environ, HOME=self.home)
        self.count = count
        bin_dir = os.path.join(venv, "bin") if venv else None  # another smtpq (--compare)
        self.smtpq = os.path.join(bin_dir, "smtpq") if bin_dir else bench.smtpq
        sendmail = os.path.join(bin_dir, "smtpq-sendmail") if bin_dir else bench.sendmail
        # The schema first, so that the timed enqueue is an ordinary one (no migration).
        run([self.smtpq, "db", "upgrade"], env=self.env, log=bench.log)
        self.small_parent = small_parent  # for peak-RSS figures: see run_small_parent
        self.enqueue = self._run([sendmail, "-t", "-i"], stdin=message)
        if count > 1:
            fill_queue(queue_db(self.home), count - 1)

    def flush(self) -> tuple[float, float]:
        """Run ``smtpq flush``; (wall seconds, peak RSS MiB), checked."""
        before = self.bench.sink.messages()
        result = self._run([self.smtpq, "flush", "-q"], timeout=3600)
        self.check(self.bench.sink.messages() - before)
        return result.wall, result.rss

    def _run(self, cmd: list[str], *, stdin: str | None = None, timeout: float = 600) -> Result:
        if self.small_parent:
            return run_small_parent(self.bench.python, cmd, stdin=stdin, env=self.env,
                                    timeout=timeout)
        return run(cmd, stdin=stdin, env=self.env, log=self.bench.log, timeout=timeout)

    def check(self, delivered: int) -> None:
        with sqlite3.connect(queue_db(self.home)) as connection:
            statuses = dict(connection.execute(
                "SELECT status, count(*) FROM messages GROUP BY status").fetchall())
        if delivered != self.count or statuses != {"sent": self.count}:
            raise SystemExit(f"flush of {self.count}: smtp-sink got {delivered}, "
                             f"queue says {statuses}")

    def remove(self) -> None:
        shutil.rmtree(self.home, ignore_errors=True)


def fill_queue(path: str, copies: int) -> None:
    """Add *copies* copies of the newest queued mail (its rows, its recipients, its chunks)."""
    with sqlite3.connect(path, isolation_level=None) as connection:
        template = connection.execute("SELECT max(id) FROM messages").fetchone()[0]
        message_columns = _columns(connection, "messages", skip=("id",))
        recipient_columns = _columns(connection, "recipients", skip=("id", "message_id"))
        connection.execute("BEGIN IMMEDIATE")
        connection.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
            f"INSERT INTO messages ({message_columns}) SELECT {message_columns} "
            "FROM n, messages WHERE messages.id = ?", (copies, template))
        connection.execute(
            f"INSERT INTO recipients (message_id, {recipient_columns}) "
            f"SELECT m.id, {_prefixed('r', recipient_columns)} FROM messages m "
            "JOIN recipients r ON r.message_id = ? WHERE m.id > ?", (template, template))
        connection.execute(
            "INSERT INTO message_chunks (message_id, seq, data) SELECT m.id, c.seq, c.data "
            "FROM messages m JOIN message_chunks c ON c.message_id = ? WHERE m.id > ?",
            (template, template))
        connection.execute("COMMIT")


def _columns(connection: sqlite3.Connection, table: str, skip: tuple[str, ...]) -> str:
    names = [row[1] for row in connection.execute(f"PRAGMA table_info({table})")]
    return ", ".join(name for name in names if name not in skip)


def _prefixed(alias: str, columns: str) -> str:
    return ", ".join(f"{alias}.{name}" for name in columns.split(", "))


class MsmtpQueue:
    """msmtpq's queue directory with copies of one mail, flushed by ``msmtp-queue -r``."""

    def __init__(self, bench, count: int) -> None:  # type: ignore[no-untyped-def]
        self.bench, self.count = bench, count
        self.home = os.path.join(bench.tmp, "home-msmtpq-flush")
        self.queue = os.path.join(self.home, "queue")
        os.makedirs(self.queue, exist_ok=True)
        write_msmtprc(os.path.join(self.home, ".msmtprc"), bench.sink.port)
        stub = os.path.join(bench.tmp, "stub")
        self.env = dict(os.environ, HOME=self.home, MSMTPQ_Q=self.queue,
                        MSMTPQ_LOG=os.path.join(self.home, "queue.log"),
                        PATH=os.pathsep.join([stub, MSMTPQ_DIR, os.environ["PATH"]]))

    def fill(self) -> None:
        """One offline msmtpq enqueue, then copies of its two files."""
        for name in glob.glob(os.path.join(self.queue, "*")):
            os.remove(name)
        run([os.path.join(MSMTPQ_DIR, "msmtpq"), "-t", "-i"], stdin=self.bench.msg,
            env=dict(self.env, EMAIL_CONN_TEST="P"), log=self.bench.log)
        (mail,) = glob.glob(os.path.join(self.queue, "*.mail"))
        base = mail[:-len(".mail")]
        for number in range(1, self.count):
            for suffix in (".mail", ".msmtp"):
                shutil.copyfile(base + suffix, f"{base}-{number:06d}{suffix}")

    def flush(self) -> float:
        before = self.bench.sink.messages()
        wall = run([os.path.join(MSMTPQ_DIR, "msmtp-queue"), "-r"],
                   env=dict(self.env, EMAIL_CONN_TEST="x"), log=self.bench.log, timeout=3600).wall
        got = self.bench.sink.messages() - before
        if got != self.count:
            raise SystemExit(f"msmtp-queue -r: smtp-sink got {got} of {self.count}")
        return wall


def smtp_source(bench, count: int, sessions: int) -> float:  # type: ignore[no-untyped-def]
    """The ceiling: smtp-source, one connection per session (``-d``); msgs/s."""
    exe = shutil.which("smtp-source") or "/usr/sbin/smtp-source"
    before = bench.sink.messages()
    wall = run([exe, "-m", str(count), "-l", "4096", "-d", "-s", str(sessions),
                "-f", "sender@example.test", "-t", "rcpt@example.test",
                "-M", "bench.example.test", f"127.0.0.1:{bench.sink.port}"],
               log=bench.log).wall
    got = bench.sink.messages() - before
    if got != count:
        raise SystemExit(f"smtp-source: smtp-sink got {got} of {count}")
    return count / wall


def flush(bench) -> dict[str, list[float]]:  # type: ignore[no-untyped-def]
    """Flush throughput; returns the per-round smtpq walls (the scale section compares)."""
    n, m, parallel = bench.flush_msgs, bench.msmtpq_msgs, bench.flush_parallel
    print(f"# flush: {n} x 4 KiB queued -> `smtpq flush -q` (one connection, then "
          f"parallel_connections = {' and '.join(map(str, parallel))}); {m} -> "
          f"`msmtp-queue -r`; smtp-source -m {n} -l 4096 -d -s 1|4 (the ceiling)", flush=True)
    msmtpq = MsmtpQueue(bench, m)
    rates: dict[str, list[float]] = {"smtpq": [], "msmtpq": [], "source1": [], "source4": [],
                                     "compared": [], **{f"smtpq-p{p}": [] for p in parallel}}
    walls: list[float] = []
    for round_ in range(bench.flush_runs):
        rates["source1"].append(smtp_source(bench, n, 1))
        rates["source4"].append(smtp_source(bench, n, 4))
        wall = _flush_once(bench, f"home-flush-{round_}", n)
        walls.append(wall)
        rates["smtpq"].append(n / wall)
        for p in parallel:
            rates[f"smtpq-p{p}"].append(n / _flush_once(bench, f"home-flush-p{p}", n, parallel=p))
        if bench.compare:
            rates["compared"].append(n / _flush_once(bench, "home-flush-compared", n,
                                                     venv=bench.compare))
        msmtpq.fill()
        rates["msmtpq"].append(m / msmtpq.flush())
    _flush_report(bench, rates, walls)
    return {"walls": walls}


def _flush_once(bench, name: str, count: int, **options: object) -> float:  # type: ignore[no-untyped-def]
    queue = Queue(bench, name, bench.msg, count, **options)  # type: ignore[arg-type]
    wall, _ = queue.flush()
    queue.remove()
    return wall


def _flush_report(bench, rates: dict[str, list[float]], walls: list[float]) -> None:  # type: ignore[no-untyped-def]
    n, m = bench.flush_msgs, bench.msmtpq_msgs
    report("flush smtp-source -d -s 1: rate", rates["source1"], "msgs/s", 0,
           anchor="smtp-source -d -s 1")
    report("flush smtp-source -d -s 4: rate", rates["source4"], "msgs/s", 0,
           anchor="smtp-source -d -s 4")
    report(f"flush smtpq {n} msgs: total", walls, "s", 2)
    report(f"flush smtpq {n} msgs: rate", rates["smtpq"], "msgs/s", 0,
           anchor="smtplib one connection")
    report(f"flush msmtp-queue -r {m} msgs: rate", rates["msmtpq"], "msgs/s", 1,
           anchor="msmtp-queue -r")
    report_ratio("flush smtpq/msmtp-queue rate ratio", rates["smtpq"], rates["msmtpq"], ">= 100")
    report_ratio("flush smtpq/smtp-source(-s 1) rate ratio", rates["smtpq"], rates["source1"])
    print("#   target: >= 2,000 msgs/s on one connection", flush=True)
    for p in bench.flush_parallel:
        rate = rates[f"smtpq-p{p}"]
        report(f"flush smtpq {n} msgs, parallel_connections = {p}: rate", rate, "msgs/s", 0)
        report_ratio(f"flush smtpq parallel {p}/smtp-source(-s 1) rate ratio", rate,
                     rates["source1"], "> 1 (past the one-connection ceiling)")
        report_ratio(f"flush smtpq parallel {p}/smtp-source(-s 4) rate ratio", rate,
                     rates["source4"])
    if rates["compared"]:
        report(f"flush compared smtpq {n} msgs: rate", rates["compared"], "msgs/s", 0)
        report_ratio("flush smtpq/(compared smtpq) rate ratio", rates["smtpq"], rates["compared"])


def large(bench) -> None:  # type: ignore[no-untyped-def]
    """Memory flat in mail size: enqueue and flush of each LARGE_MB size (and, with
    ``--compare``, the other tree's in the same rounds, paired)."""
    sizes = bench.large_mb
    paths = {mb: make_message(os.path.join(bench.tmp, f"big-{mb}"), mb * 1024 * 1024)
             for mb in sizes}
    trees = {"smtpq": None, **({"compared smtpq": bench.compare} if bench.compare else {})}
    print(f"# large: sizes {sizes} MiB, enqueue `smtpq-sendmail -t -i < big`, then "
          f"`smtpq flush -q` -> smtp-sink; {', '.join(trees)}", flush=True)
    results: dict[tuple[str, int], dict[str, list[float]]] = {
        (tree, mb): {"enqueue wall": [], "enqueue rss": [], "flush wall": [], "flush rss": []}
        for tree in trees for mb in sizes}
    for _ in range(bench.large_runs):
        for mb in sizes:
            for tree, venv in trees.items():
                queue = Queue(bench, f"home-large-{mb}", paths[mb], 1, small_parent=True,
                              venv=venv)
                wall, rss = queue.flush()
                queue.remove()
                figures = results[tree, mb]
                figures["enqueue wall"].append(queue.enqueue.wall)
                figures["enqueue rss"].append(queue.enqueue.rss)
                figures["flush wall"].append(wall)
                figures["flush rss"].append(rss)
    for (tree, mb), figures in results.items():
        for key, values in figures.items():
            unit, nd = ("s", 2) if "wall" in key else ("MiB", 1)
            report(f"large {'' if tree == 'smtpq' else 'compared '}{mb} MiB {key}",
                   values, unit, nd)
    floor = [run_small_parent(bench.python, [bench.python, "-c", "pass"]).rss for _ in range(3)]
    report("large python -c pass peak RSS (the floor)", floor, "MiB", 1)
    small, big = min(sizes), max(sizes)
    for step in ("enqueue", "flush"):
        report_ratio(f"large {step} peak RSS {big} MiB/{small} MiB ratio",
                     results["smtpq", big][f"{step} rss"], results["smtpq", small][f"{step} rss"],
                     "<= 1.2")
        for mb in sizes if bench.compare else ():
            report_ratio(f"large {step} {mb} MiB peak RSS smtpq/(compared smtpq) ratio",
                         results["smtpq", mb][f"{step} rss"],
                         results["compared smtpq", mb][f"{step} rss"])
    print("#   target: every peak RSS <= 64 MiB", flush=True)


def scale(bench, flush_walls: list[float]) -> None:  # type: ignore[no-untyped-def]
    """100,000 queued: the listing, and the flush time against FLUSH_MSGS."""
    n = bench.scale_msgs
    queue = Queue(bench, "home-scale", bench.msg, n)
    lists = []
    for _ in range(3):
        lists.append(run([bench.smtpq, "list", "--json"], env=queue.env,
                         log=subprocess.DEVNULL, timeout=600).wall)
    report(f"scale smtpq list --json, {n} queued", lists, "s", 2)
    print("#   target: <= 2 s", flush=True)
    wall, _ = queue.flush()
    queue.remove()
    report(f"scale smtpq flush {n} msgs: total", [wall], "s", 1)
    if flush_walls:
        ratio = wall / (sum(flush_walls) / len(flush_walls))
        print(f"scale flush {n}/{bench.flush_msgs} time ratio: {ratio:.2f}x "
              f"(linear: {n / bench.flush_msgs:.0f}x; target <= {1.2 * n / bench.flush_msgs:.0f}x)",
              flush=True)
