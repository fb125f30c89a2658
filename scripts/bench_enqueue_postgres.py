"""``scripts/bench`` section ``postgres``: enqueue into PostgreSQL against SQLite, paired.

In every round, one call of each, in turn, with one 4 KiB mail and
``after_enqueue = "none"``:

* ``smtpq-sendmail -t -i`` into the default SQLite queue;
* ``smtpq-sendmail -t -i`` into a PostgreSQL queue (the libpq path,
  ``smtpq.queue.enqueue.postgres``);
* the store path that was used before (``open_store(url).enqueue``: SQLAlchemy,
  psycopg, the Alembic version check), for comparison.

PostgreSQL is a throw-away cluster on a Unix socket with its durable defaults
(fsync, synchronous_commit on), as SQLite runs with ``synchronous=FULL``; its
schema is created once before the first round.  CPU is the enqueuing
process's own (user+sys): the server's work is in the latency only.
Issue 12 point 6 sets the target: PostgreSQL at most 4x the SQLite enqueue.
"""

from __future__ import annotations

import os
import sys

from bench_support import report, report_ratio, run, write_msmtprc, write_queue_settings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

STORE_ENQUEUE = r"""
import sys
from smtpq.queue.new_message import NewMessage
from smtpq.queue.store.sql.store import open_store
message = NewMessage(account="default", envelope_from="sender@example.test",
                     recipients=("rcpt@example.test",), options=("-t", "-i"))
with open_store(sys.argv[1]) as store:
    store.enqueue(message, sys.stdin.buffer)
"""


def postgres(bench) -> None:  # type: ignore[no-untyped-def]
    """Enqueue latency and CPU into SQLite and PostgreSQL, round after round."""
    sys.path.insert(0, ROOT)
    from tests.support.postgres import PostgresCluster, missing

    reason = missing()
    if reason is not None:
        print(f"# postgres: skipped: {reason}", flush=True)
        return
    with PostgresCluster(settings=()) as cluster:
        url = cluster.new_database("bench_enqueue")
        from smtpq.queue.store.sql.store import open_store

        open_store(url).close()  # the schema, once (a migration is not what is measured)
        version = cluster.execute("SHOW server_version")[0][0]
        print(f"# postgres: PostgreSQL {version}, durable defaults, Unix socket", flush=True)
        _rounds(bench, url)


def _rounds(bench, url: str) -> None:  # type: ignore[no-untyped-def]
    targets = _targets(bench, url)
    results: dict[str, list] = {name: [] for name in targets}
    for round_ in range(bench.runs + 2):  # two warm-up rounds
        for name, (argv, env) in targets.items():
            result = run(argv, stdin=bench.msg, env=env, log=bench.log)
            if round_ >= 2:
                results[name].append(result)
    wall = {name: [r.wall * 1000 for r in rs] for name, rs in results.items()}
    cpu = {name: [r.cpu * 1000 for r in rs] for name, rs in results.items()}
    for name in targets:
        report(f"enqueue {name}: latency", wall[name], "ms", 2)
        report(f"enqueue {name}: cpu (user+sys)", cpu[name], "ms", 2)
    sqlite, libpq, store = "smtpq into SQLite", "smtpq into PostgreSQL", "store path into PostgreSQL"
    report_ratio("enqueue PostgreSQL/SQLite latency ratio", wall[libpq], wall[sqlite], "<= 4.0")
    report_ratio("enqueue PostgreSQL/SQLite cpu ratio", cpu[libpq], cpu[sqlite], "<= 4.0")
    report_ratio("enqueue store path/libpq path cpu ratio", cpu[store], cpu[libpq])
    _check(url, 2 * (bench.runs + 2))


def _targets(bench, url: str) -> dict[str, tuple[list[str], dict[str, str]]]:  # type: ignore[no-untyped-def]
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SMTPQ_", "PG"))}
    base.pop("PYTHONDONTWRITEBYTECODE", None)
    targets = {}
    for name, extra in (("smtpq into SQLite", {}), ("smtpq into PostgreSQL",
                                                    {"SMTPQ_DATABASE": url})):
        home = os.path.join(bench.tmp, "home-pg-" + ("pg" if extra else "sqlite"))
        os.makedirs(home, exist_ok=True)
        write_msmtprc(os.path.join(home, ".msmtprc"), bench.dead_port)
        write_queue_settings(home, "none")
        targets[name] = ([bench.sendmail, "-t", "-i"], dict(base, HOME=home, **extra))
    targets["store path into PostgreSQL"] = ([bench.python, "-c", STORE_ENQUEUE, url],
                                             dict(base))
    return targets


def _check(url: str, expected: int) -> None:
    from smtpq.queue.store.sql.store import open_store

    with open_store(url) as store:
        count = len(store.list_messages(limit=expected + 10))
    mark = "" if count == expected else "  <-- MISMATCH"
    print(f"# check: {count} of {expected} mails queued in PostgreSQL{mark}", flush=True)
