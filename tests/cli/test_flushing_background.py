"""``log_background``: a background flusher's descriptors 1 and 2 and ``sys.stderr`` go
to its flush log, the run's header before its first line.

Each test runs a real interpreter that calls it with the environment of a
queue in ``tmp_path`` (stdio on /dev/null, as a detached flusher has), then
says something at Python's level and below it: a line on ``sys.stderr``, bytes
written to the descriptors, and a fatal error (a segmentation fault reported by
``faulthandler``).  Everything lands in the log; the header comes before the
first line ``sys.stderr`` writes.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

SAY = """
import os, sys
from smtpq.cli.flushing import log_background
assert log_background(os.environ, None) is None
os.write(1, b"below python, fd 1\\n")
sys.stderr.write("smtpq: said at python's level\\n")
os.write(2, b"below python, fd 2\\n")
sys.stderr.flush()
os.kill(os.getpid(), {signal})
"""
HEADER = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d smtpq flush \(background, pid \d+\):"


def run(tmp_path: Path, code: str) -> subprocess.CompletedProcess[bytes]:
    env = {"HOME": str(tmp_path), "SMTPQ_DATABASE": f"sqlite:///{tmp_path}/q/queue.sqlite3",
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "PATH": "/usr/bin:/bin",
           "PYTHONFAULTHANDLER": "1"}
    return subprocess.run([sys.executable, "-c", code], env=env, stdin=subprocess.DEVNULL,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60,
                          check=False)


def test_lines_said_above_and_below_python_and_a_fatal_error_land_in_the_log(
        tmp_path: Path) -> None:
    result = run(tmp_path, SAY.format(signal=int(signal.SIGSEGV)))

    assert result.returncode == -signal.SIGSEGV
    text = (tmp_path / "q" / "queue.sqlite3.flush.log").read_text()
    lines = text.splitlines()
    assert lines[0] == "below python, fd 1"
    assert re.fullmatch(HEADER, lines[1])
    assert lines[2:4] == ["smtpq: said at python's level", "below python, fd 2"]
    assert "Fatal Python error: Segmentation fault" in text


def test_a_run_that_says_nothing_writes_nothing(tmp_path: Path) -> None:
    result = run(tmp_path, "import os\nfrom smtpq.cli.flushing import log_background\n"
                           "assert log_background(os.environ, None) is None\n")

    assert result.returncode == 0
    assert (tmp_path / "q" / "queue.sqlite3.flush.log").read_bytes() == b""
