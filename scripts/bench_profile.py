"""``scripts/bench --profile``: where the time goes, measured rather than guessed.

* start-up: ``python -X importtime`` over the sendmail entry, several runs, the
  median self time per module (the biggest first) and the total;
* enqueue: pyinstrument over one ``smtpq-sendmail -t -i`` (every 0.1 ms), if
  ``BENCH_TOOLS`` holds it;
* flush: py-spy (``BENCH_TOOLS/bin/py-spy``) over ``smtpq flush`` of FLUSH_MSGS
  mails, in raw (collapsed-stack) form, summed per function: self time (the
  leaf) and inclusive time, the biggest first.

``scripts/bench --profile`` installs the two tools into a scratch directory
(``pip install --target``), never into the measured interpreter.
"""

from __future__ import annotations

import collections
import os
import re
import statistics
import subprocess

from bench_flush import Queue
from bench_support import write_msmtprc, write_queue_settings

_IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def profile(bench) -> None:  # type: ignore[no-untyped-def]
    startup(bench)
    tools = os.environ.get("BENCH_TOOLS", "")
    if tools:
        enqueue_profile(bench, tools)
        flush_profile(bench, tools)
    else:
        print("# profile: BENCH_TOOLS unset: no pyinstrument/py-spy profiles", flush=True)


def _enqueue_env(bench) -> dict[str, str]:  # type: ignore[no-untyped-def]
    home = os.path.join(bench.tmp, "home-profile")
    os.makedirs(home, exist_ok=True)
    write_msmtprc(os.path.join(home, ".msmtprc"), bench.dead_port)
    write_queue_settings(home, "none")
    return dict(os.environ, HOME=home)


def startup(bench, runs: int = 15) -> None:  # type: ignore[no-untyped-def]
    """-X importtime of the console script, median self time per module."""
    env = _enqueue_env(bench)
    with open(bench.msg, "rb") as stdin:  # the first enqueue creates the database: not timed
        subprocess.run([bench.sendmail, "-t", "-i"], stdin=stdin, env=env, check=True)
    selves: dict[str, list[int]] = collections.defaultdict(lambda: [0] * runs)
    totals = []
    for number in range(runs):
        with open(bench.msg, "rb") as stdin:
            err = subprocess.run([bench.python, "-X", "importtime", bench.sendmail, "-t", "-i"],
                                 stdin=stdin, env=env, capture_output=True, check=True).stderr
        total = 0
        for line in err.decode().splitlines():
            match = _IMPORT_LINE.match(line)
            if match:
                selves[match[4]][number] = int(match[1])
                total += int(match[1])
        totals.append(total)
    print(f"# profile start-up: python -X importtime {os.path.basename(bench.sendmail)} -t -i, "
          f"{runs} runs; median self time per module (importtime inflates every figure)")
    medians = sorted(((statistics.median(v), name) for name, v in selves.items()), reverse=True)
    smtpq = sum(m for m, name in medians if name.startswith("smtpq"))
    for median, name in medians[:25]:
        print(f"#   {median:7.0f} us  {name}")
    print(f"#   total {statistics.median(totals) / 1000:.1f} ms in {len(medians)} modules, "
          f"of which smtpq's own {smtpq / 1000:.1f} ms in "
          f"{sum(1 for _, n in medians if n.startswith('smtpq'))}", flush=True)


def enqueue_profile(bench, tools: str) -> None:  # type: ignore[no-untyped-def]
    env = dict(_enqueue_env(bench), PYTHONPATH=tools)
    with open(bench.msg, "rb") as stdin:
        out = subprocess.run(
            [bench.python, "-m", "pyinstrument", "--interval", "0.0001", "--no-color",
             "--show", "*/smtpq/*", bench.sendmail, "-t", "-i"],
            stdin=stdin, env=env, capture_output=True, check=False).stdout.decode()
    print("# profile enqueue (pyinstrument, 0.1 ms interval, one run):")
    for line in out.splitlines()[:70]:
        print("#   " + line)


def flush_profile(bench, tools: str) -> None:  # type: ignore[no-untyped-def]
    """py-spy over one flush of FLUSH_MSGS mails, summed per function."""
    queue = Queue(bench, "home-profile-flush", bench.msg, bench.flush_msgs)
    raw = os.path.join(bench.tmp, "flush.collapsed")
    before = bench.sink.messages()
    subprocess.run([os.path.join(tools, "bin", "py-spy"), "record", "--rate", "1000",
                    "--format", "raw", "--output", raw, "--", bench.smtpq, "flush", "-q"],
                   env=queue.env, stdout=bench.log, stderr=bench.log, check=True)
    queue.check(bench.sink.messages() - before)
    queue.remove()
    summarise_collapsed(raw, f"flush of {bench.flush_msgs} (py-spy, 1000 Hz)")
    print(f"# (kept: {raw}; flamegraph: py-spy record --format flamegraph)".replace(
        bench.tmp, "TMP"), flush=True)


def summarise_collapsed(path: str, title: str, top: int = 30) -> None:
    """Self and inclusive samples per function from py-spy's collapsed stacks."""
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    with open(path) as f:
        for line in f:
            stack, _, count_text = line.rstrip("\n").rpartition(" ")
            count = int(count_text)
            frames = [_short(frame) for frame in stack.split(";")]
            total += count
            own[frames[-1]] += count
            for frame in set(frames):
                inclusive[frame] += count
    print(f"# profile {title}: {total} samples; self time per function")
    for frame, count in own.most_common(top):
        print(f"#   {100 * count / total:5.1f} %  {frame}")
    print("# inclusive time per function (smtpq's own, and the libraries it calls)")
    for frame, count in inclusive.most_common(top * 2):
        if "smtpq" in frame or "sqlalchemy" in frame or "smtplib" in frame:
            print(f"#   {100 * count / total:5.1f} %  {frame}")


def _short(frame: str) -> str:
    """``func (path/to/site-packages/pkg/mod.py:12)`` → ``func (pkg/mod.py)``."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "lib/python3"):
        if marker in where:
            where = where.split(marker, 1)[1]
    return f"{name} ({where})"
