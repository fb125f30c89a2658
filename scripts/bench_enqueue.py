"""``scripts/bench`` sections ``enqueue`` and ``direct``: one 4 KiB mail, one process.

enqueue  (issue "Performance" items 2): in every round, one call of each, in turn:
         the bare interpreter (``python -c pass``), msmtpq made to believe it
         is offline (``EMAIL_CONN_TEST=P`` and a ``ping`` stub that fails), the
         stdlib-sqlite3 floor of the anchors, and ``smtpq-sendmail -t -i`` with
         ``after_enqueue = "none"`` and with ``"flush"`` (the server down: the
         detached flusher finds it unreachable; the harness waits, outside the
         timed window, until that flusher is gone before the next call).
direct   (item 4): ``msmtp -C RC -t -i`` and ``smtpq-sendmail --send-now -C RC -t -i``
         to smtp-sink, in turn.

Ratios are paired: the median of the per-round ratios.
"""

from __future__ import annotations

import os
import sqlite3

from bench_support import (
    TlsSink,
    queue_db,
    report,
    report_ratio,
    run,
    run_small_parent,
    wait_for_orphans,
    write_msmtprc,
    write_queue_settings,
)

MSMTPQ_DIR = os.environ.get("MSMTPQ_DIR", "/usr/libexec/msmtp/msmtpq")

PY_SQLITE3_ENQUEUE = r"""
import sqlite3, sys, time
data = sys.stdin.buffer.read()
con = sqlite3.connect(sys.argv[1], isolation_level=None)
con.execute("PRAGMA journal_mode=WAL")
con.execute("PRAGMA synchronous=FULL")
con.execute("CREATE TABLE IF NOT EXISTS queue (id INTEGER PRIMARY KEY, "
            "created REAL NOT NULL, argv TEXT NOT NULL, message BLOB NOT NULL)")
con.execute("BEGIN IMMEDIATE")
con.execute("INSERT INTO queue (created, argv, message) VALUES (?, ?, ?)",
            (time.time(), " ".join(sys.argv[2:]), data))
con.execute("COMMIT")
con.close()
"""


def _home(bench, name: str, port: int) -> str:  # type: ignore[no-untyped-def]
    home = os.path.join(bench.tmp, "home-" + name)
    os.makedirs(home, exist_ok=True)
    write_msmtprc(os.path.join(home, ".msmtprc"), port)
    return home


def _targets(bench) -> dict[str, tuple[list[str], dict[str, str]]]:  # type: ignore[no-untyped-def]
    """name → (argv, environment); every msmtprc points at a closed port."""
    base = dict(os.environ)
    base.pop("PYTHONDONTWRITEBYTECODE", None)
    stub = os.path.join(bench.tmp, "stub")
    os.makedirs(stub, exist_ok=True)
    with open(os.path.join(stub, "ping"), "w") as f:  # "offline": ping fails at once
        f.write("#!/bin/sh\nexit 1\n")
    os.chmod(os.path.join(stub, "ping"), 0o755)
    mq_home = _home(bench, "msmtpq", bench.dead_port)
    floor_home = _home(bench, "floor", bench.dead_port)
    with open(os.path.join(floor_home, "enqueue_sqlite3.py"), "w") as f:
        f.write(PY_SQLITE3_ENQUEUE)
    targets = {
        "python -c pass": ([bench.python, "-c", "pass"], dict(base)),
        "msmtpq": ([os.path.join(MSMTPQ_DIR, "msmtpq"), "-t", "-i"], dict(
            base, HOME=mq_home, PATH=os.pathsep.join([stub, MSMTPQ_DIR, base["PATH"]]),
            EMAIL_CONN_TEST="P", MSMTPQ_Q=os.path.join(mq_home, "queue"),
            MSMTPQ_LOG=os.path.join(mq_home, "queue.log"))),
        "python stdlib sqlite3": ([bench.python, os.path.join(floor_home, "enqueue_sqlite3.py"),
                                   os.path.join(floor_home, "q.db"), "-t", "-i"],
                                  dict(base, HOME=floor_home)),
    }
    os.makedirs(os.path.join(mq_home, "queue"), exist_ok=True)
    for after in ("none", "flush"):
        home = _home(bench, "smtpq-" + after, bench.dead_port)
        write_queue_settings(home, after)
        targets[f"smtpq after_enqueue={after}"] = (
            [bench.sendmail, "-t", "-i"], dict(base, HOME=home))
    if bench.compare:  # another smtpq (an older tree, say), in the same rounds
        home = _home(bench, "compare", bench.dead_port)
        write_queue_settings(home, "none")
        targets["compared smtpq after_enqueue=none"] = (
            [os.path.join(bench.compare, "bin", "smtpq-sendmail"), "-t", "-i"],
            dict(base, HOME=home))
    return targets


def enqueue(bench) -> None:  # type: ignore[no-untyped-def]
    """Enqueue latency, every target in turn, round after round."""
    targets = _targets(bench)
    for name, (argv, _env) in targets.items():
        print(f"# enqueue {name}: `{' '.join(argv)} < msg` (4096 B)".replace(bench.tmp, "TMP"))
    keep = {bench.sink.proc.pid}
    results: dict[str, list] = {name: [] for name in targets}
    for round_ in range(bench.runs + 2):  # two warm-up rounds
        for name, (argv, env) in targets.items():
            result = run(argv, stdin=bench.msg, env=env, log=bench.log)
            if name.endswith("=flush"):
                wait_for_orphans(keep)  # the detached flusher must not disturb the next
            if round_ >= 2:
                results[name].append(result)
    _enqueue_figures(results)
    _check_enqueued(bench, targets)


def _enqueue_figures(results: dict[str, list]) -> None:
    wall = {name: [r.wall * 1000 for r in rs] for name, rs in results.items()}
    anchors = {"python -c pass": "python -c pass", "msmtpq": "msmtpq enqueue",
               "python stdlib sqlite3": "python stdlib sqlite3 enqueue"}
    for name, values in wall.items():
        anchor = anchors.get(name, "msmtpq enqueue")
        report(f"enqueue {name}: latency", values, "ms", 2, anchor=anchor)
        report(f"enqueue {name}: cpu (user+sys)", [r.cpu * 1000 for r in results[name]], "ms", 2)
    smtpq, flush = wall["smtpq after_enqueue=none"], wall["smtpq after_enqueue=flush"]
    report_ratio("enqueue smtpq/msmtpq latency ratio", smtpq, wall["msmtpq"], "<= 1.0")
    report_ratio("enqueue smtpq/(python -c pass) latency ratio", smtpq, wall["python -c pass"],
                 "<= 2.0")
    report_ratio("enqueue smtpq/(stdlib sqlite3 floor) latency ratio", smtpq,
                 wall["python stdlib sqlite3"])
    report_ratio("enqueue msmtpq/(python -c pass) latency ratio", wall["msmtpq"],
                 wall["python -c pass"])
    report_ratio("enqueue after_enqueue=flush / none latency ratio", flush, smtpq, "<= 1.10")
    if "compared smtpq after_enqueue=none" in wall:
        compared = wall["compared smtpq after_enqueue=none"]
        report_ratio("enqueue smtpq/(compared smtpq) latency ratio", smtpq, compared)
        report_ratio("enqueue compared smtpq/msmtpq latency ratio", compared, wall["msmtpq"])


def _check_enqueued(bench, targets) -> None:  # type: ignore[no-untyped-def]
    expected = bench.runs + 2
    for name, (_, env) in targets.items():
        if not name.startswith(("smtpq", "compared smtpq")):
            continue
        path = queue_db(env["HOME"])
        with sqlite3.connect(path) as connection:
            count = connection.execute("SELECT count(*) FROM messages").fetchone()[0]
        mark = "" if count == expected else "  <-- MISMATCH"
        print(f"# check: {name}: {count} of {expected} mails queued{mark}")
    sent = bench.sink.messages()
    print(f"# check: smtp-sink accepted {sent} messages while enqueueing (0 expected)"
          + ("" if sent == 0 else "  <-- MISMATCH"), flush=True)


def direct(bench) -> None:  # type: ignore[no-untyped-def]
    """Direct send: msmtp and ``smtpq-sendmail --send-now``, in turn, plain to smtp-sink and
    with STARTTLS to aiosmtpd; with the interpreter floors a plain send cannot go under."""
    home = _home(bench, "direct", bench.sink.port)
    rc = os.path.join(home, ".msmtprc")
    env = dict(os.environ, HOME=home)
    targets = _direct_targets(bench, rc)
    with TlsSink(bench.tmp, bench.tools) as tls:
        tls_rc = write_msmtprc(os.path.join(bench.tmp, "msmtprc-tls"), tls.port, tls.cert)
        targets.update({f"{name} starttls": argv
                        for name, argv in _direct_targets(bench, tls_rc).items()})
        targets.update(_floors(bench.python))
        for name, argv in targets.items():
            print(f"# direct {name}: `{' '.join(argv)} < msg`".replace(bench.tmp, "TMP"))
        before = bench.sink.messages()
        results: dict[str, list] = {name: [] for name in targets}
        for round_ in range(bench.runs + 2):
            for name, argv in targets.items():
                # From a small parent: the peak RSS is the sender's own (see run_small_parent).
                result = run_small_parent(bench.python, argv, stdin=bench.msg, env=env)
                if round_ >= 2:
                    results[name].append(result)
    _direct_figures(results)
    senders = 3 if bench.compare else 2
    got, expected = bench.sink.messages() - before, senders * (bench.runs + 2)
    print(f"# check: smtp-sink accepted {got} of {expected} plain messages"
          + ("" if got == expected else "  <-- MISMATCH"), flush=True)


def _floors(python: str) -> dict[str, list[str]]:
    """What the interpreter alone costs: bare, with the private socket module the tree
    before issue 15 used, and with the public ``socket`` module (``enum``, ``selectors``,
    ``array``, four ``IntEnum``s built) that a send without TLS must load now."""
    return {"floor python -c pass": [python, "-c", "pass"],
            "floor python import _socket, select": [python, "-c", "import _socket, select"],
            "floor python import socket": [python, "-c", "import socket"]}


def _direct_targets(bench, rc: str) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    targets = {"msmtp": [bench.msmtp, "-C", rc, "-t", "-i"],
               "smtpq --send-now": [bench.sendmail, "--send-now", "-C", rc, "-t", "-i"]}
    if bench.compare:
        compared = os.path.join(bench.compare, "bin", "smtpq-sendmail")
        targets["compared smtpq --send-now"] = [compared, "--send-now", "-C", rc, "-t", "-i"]
    return targets


def _direct_figures(results: dict[str, list]) -> None:
    wall = {name: [r.wall * 1000 for r in rs] for name, rs in results.items()}
    cpu = {name: [r.cpu * 1000 for r in rs] for name, rs in results.items()}
    report("direct msmtp: latency", wall["msmtp"], "ms", 2, anchor="msmtp direct send")
    report("direct smtpq --send-now: latency", wall["smtpq --send-now"], "ms", 2,
           anchor="msmtp direct send")
    for name, rs in results.items():
        if not name.startswith("floor"):
            report(f"direct {name}: latency", wall[name], "ms", 2)
        report(f"direct {name}: cpu (user+sys)", cpu[name], "ms", 2)
        report(f"direct {name}: peak RSS", [r.rss for r in rs], "MiB", 1)
    report_ratio("direct smtpq/msmtp latency ratio", wall["smtpq --send-now"], wall["msmtp"],
                 "<= 0.6")
    report_ratio("direct starttls smtpq/msmtp latency ratio", wall["smtpq --send-now starttls"],
                 wall["msmtp starttls"])
    if "compared smtpq --send-now" not in wall:
        return
    report_ratio("direct compared smtpq/msmtp latency ratio",
                 wall["compared smtpq --send-now"], wall["msmtp"])
    for suffix in ("", " starttls"):
        new, old = f"smtpq --send-now{suffix}", f"compared smtpq --send-now{suffix}"
        report_ratio(f"direct{suffix} smtpq/(compared smtpq) cpu ratio", cpu[new], cpu[old])
        report_ratio(f"direct{suffix} smtpq/(compared smtpq) peak RSS ratio",
                     [r.rss for r in results[new]], [r.rss for r in results[old]])
    report_ratio("direct floor (import socket)/(compared smtpq) cpu ratio",
                 cpu["floor python import socket"], cpu["compared smtpq --send-now"])
