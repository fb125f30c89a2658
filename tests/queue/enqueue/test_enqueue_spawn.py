"""The detached start of a background flusher: what the child gets, and nothing more.

``trigger.spawn_detached`` replaces ``subprocess.Popen`` on the enqueue path
(importing subprocess cost every enqueue 3 ms), so it must keep Popen's
promises: stdin/stdout/stderr on /dev/null, a new session, the lock
descriptor passed on, and no other descriptor of the caller (a pipe it left
open would otherwise stay open as long as the flusher lives).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from smtpq.queue.flush.trigger import spawn_detached

REPORT = """
import json, os, sys
fds = sorted(int(n) for n in os.listdir("/proc/self/fd") if n.isdigit())
info = {"fds": fds, "sid": os.getsid(0), "pid": os.getpid(),
        "stdio": [os.readlink(f"/proc/self/fd/{n}") for n in (0, 1, 2)],
        "kept": os.read(int(sys.argv[2]), 100).decode()}
with open(sys.argv[1] + ".tmp", "w") as out:
    json.dump(info, out)
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
"""


def _wait_for(path: Path) -> dict:
    for _ in range(200):
        if path.exists():
            return json.loads(path.read_text())
        time.sleep(0.05)
    raise AssertionError("the detached child never reported")


def test_the_child_gets_devnull_a_new_session_and_only_the_kept_descriptor(tmp_path: Path):
    report = tmp_path / "report.json"
    kept_read, kept_write = os.pipe()
    stray_read, stray_write = os.pipe()
    os.set_inheritable(stray_read, True)  # as a careless caller might leave one
    os.set_inheritable(stray_write, True)
    try:
        os.write(kept_write, b"the lock")
        argv = [sys.executable, "-c", REPORT, str(report), str(kept_read)]
        spawn_detached(argv, kept_read, dict(os.environ))
        info = _wait_for(report)
    finally:
        for fd in (kept_read, kept_write, stray_read, stray_write):
            os.close(fd)
    assert info["kept"] == "the lock"
    assert stray_read not in info["fds"] and stray_write not in info["fds"]
    # 0, 1, 2, the kept one, and the descriptor /proc/self/fd was listed through
    assert len(set(info["fds"]) - {0, 1, 2, kept_read}) == 1
    assert info["stdio"] == ["/dev/null"] * 3
    assert info["sid"] == info["pid"]  # a session of its own: no terminal, no signals of ours


def test_the_caller_does_not_wait_for_the_child(tmp_path: Path):
    argv = [sys.executable, "-c", "import time; time.sleep(5)"]
    read, write = os.pipe()
    try:
        started = time.monotonic()
        spawn_detached(argv, read, dict(os.environ))
        assert time.monotonic() - started < 2
    finally:
        os.close(read)
        os.close(write)
