"""``scripts/bench``: smtpq measured side by side with msmtp and msmtpq, in one run.

Usage (through ``scripts/bench``, which prepares the interpreter)::

    bench_main.py --venv DIR [--only SECTION ...] [--scale] [--profile] [--compare VENV]

Sections, in order: ``enqueue``, ``direct``, ``flush``, ``large``, ``postgres``
(enqueue into PostgreSQL against SQLite, paired; skipped without PostgreSQL), then ``scale``
(only with ``--scale``: it is slow) and ``profile`` (``--profile``).  *DIR* is a
virtual environment with smtpq installed (non-editable: an editable install's
import hook alone costs 10 ms per process).  One smtp-sink serves every
section; each figure is printed with its ratio to the anchor of
``reference/bench-anchors.md`` and, where two systems are compared, as a
paired ratio of the same run.  Nothing is installed; everything written goes
to a temporary directory, removed at the end.

Environment (defaults): RUNS (30) rounds for latencies; FLUSH_MSGS (10000),
MSMTPQ_MSGS (200), FLUSH_RUNS (3), FLUSH_PARALLEL ("2 4": parallel_connections); LARGE_MB ("1 200"), LARGE_RUNS (3);
SCALE_MSGS (100000); MSMTP (msmtp); BENCH_MAX_S (7200); BENCH_TOOLS (aiosmtpd, the
STARTTLS server of ``direct``; py-spy and pyinstrument, for ``--profile``).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import socket
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_enqueue import direct, enqueue  # noqa: E402
from bench_enqueue_postgres import postgres  # noqa: E402
from bench_flush import flush, large, scale  # noqa: E402
from bench_support import Sink, become_subreaper, describe_machine, make_message  # noqa: E402

SECTIONS = ("enqueue", "direct", "flush", "large", "postgres")


class Bench:
    """What every section needs: programs, the sink, the scratch directory, the knobs."""

    def __init__(self, venv: str, tmp: str, sink: Sink, dead_port: int,
                 compare: str | None = None) -> None:
        self.python = os.path.join(venv, "bin", "python")
        self.sendmail = os.path.join(venv, "bin", "smtpq-sendmail")
        self.smtpq = os.path.join(venv, "bin", "smtpq")
        self.msmtp = shutil.which(os.environ.get("MSMTP", "msmtp")) or "msmtp"
        self.tmp, self.sink, self.dead_port = tmp, sink, dead_port
        self.compare = compare  # another smtpq venv, measured in the same rounds
        self.tools = os.environ["BENCH_TOOLS"]  # aiosmtpd (the STARTTLS server), py-spy...
        self.msg = make_message(os.path.join(tmp, "msg"), 4096)
        self.log = open(os.path.join(tmp, "log"), "ab")  # noqa: SIM115 - lives as long as the run
        env = os.environ.get
        self.runs = int(env("RUNS", "30"))
        self.flush_msgs = int(env("FLUSH_MSGS", "10000"))
        self.msmtpq_msgs = int(env("MSMTPQ_MSGS", "200"))
        self.flush_runs = int(env("FLUSH_RUNS", "3"))
        self.flush_parallel = [int(x) for x in env("FLUSH_PARALLEL", "2 4").split()]
        self.large_mb = [int(x) for x in env("LARGE_MB", "1 200").split()]
        self.large_runs = int(env("LARGE_RUNS", "3"))
        self.scale_msgs = int(env("SCALE_MSGS", "100000"))


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--venv", required=True, help="virtual environment with smtpq installed")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, help="run only these sections")
    parser.add_argument("--scale", action="store_true", help="also the 100,000-mail queue (slow)")
    parser.add_argument("--profile", action="store_true", help="also profiles (importtime, py-spy)")
    parser.add_argument("--compare", metavar="VENV",
                        help="another smtpq venv (an older tree) to time in the same rounds")
    return parser.parse_args()


def _header(bench: Bench) -> None:
    describe_machine()
    version = os.popen(f"{bench.python} --version").read().strip()  # noqa: S605 - our own venv
    msmtp = os.popen(f"{bench.msmtp} --version").readline().strip()  # noqa: S605
    print(f"# {version} ({bench.python}); {msmtp}; smtp-sink on 127.0.0.1:{bench.sink.port}",
          flush=True)


def main() -> None:
    args = _arguments()
    become_subreaper()
    sections = args.only or list(SECTIONS)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="smtpq-bench-") as tmp, Sink(tmp) as sink, \
            socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound, never listening: connect() is refused
        compare = os.path.abspath(args.compare) if args.compare else None
        bench = Bench(os.path.abspath(args.venv), tmp, sink, closed.getsockname()[1], compare)
        _header(bench)
        flushed: dict[str, list[float]] = {"walls": []}
        for section in sections:
            print(f"## {section}", flush=True)
            if section == "flush":
                flushed = flush(bench)
            else:
                {"enqueue": enqueue, "direct": direct, "large": large,
                 "postgres": postgres}[section](bench)
        if args.scale:
            print("## scale", flush=True)
            scale(bench, flushed["walls"])
        if args.profile:
            from bench_profile import profile

            print("## profile", flush=True)
            profile(bench)
    harness = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"# harness peak RSS {harness:.1f} MiB (a child's peak RSS, from wait4, includes "
          "what its parent had mapped when it was spawned)", flush=True)
    print(f"# done in {time.monotonic() - started:.0f} s", flush=True)


if __name__ == "__main__":
    main()
