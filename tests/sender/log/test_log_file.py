"""Writing the log line: logfile append under an fcntl lock, ``-`` for stdout, time stamps."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from smtpq.sender.log import log_time, log_to_file
from tests.support.programs import msmtp_binary

#: 2026-11-24 23:15:42 UTC, a Tuesday.
WHEN = 1795562142.0


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_default_time_stamp_is_msmtps() -> None:
    assert log_time(None, WHEN) == "Nov 24 23:15:42"


def test_time_stamp_is_local_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "CET-1")
    time.tzset()
    assert log_time("%H:%M %z", WHEN) == "00:15 +0100"


def test_names_are_english_whatever_the_locale() -> None:
    stamp = log_time("%a %A %b %h %B %p %P|%c|%x|%X|%r|%%b", WHEN)
    assert stamp == ("Tue Tuesday Nov Nov November PM pm|Tue Nov 24 23:15:42 2026|11/24/26|"
                     "23:15:42|11:15:42 PM|%b")


def test_custom_time_format() -> None:
    assert log_time("%Y-%m-%dT%H:%M:%S%z", WHEN) == "2026-11-24T23:15:42+0000"


def test_log_time_rejects_what_strftime_cannot_fit() -> None:
    with pytest.raises(ValueError):
        log_time("%p" * 64, WHEN)
    with pytest.raises(ValueError):
        log_time("a\0b", WHEN)


def test_none_is_not_special_in_msmtp_1_8_23() -> None:
    assert log_time("none", WHEN) == "none"


def test_first_line_is_created_and_later_lines_appended(tmp_path: Path) -> None:
    path = tmp_path / "msmtp.log"
    assert log_to_file(str(path), "host=a exitcode=EX_OK", now=WHEN) == ()
    assert log_to_file(str(path), "host=b exitcode=EX_OK", now=WHEN + 1,
                       time_format="%s") == ()
    assert path.read_text() == ("Nov 24 23:15:42 host=a exitcode=EX_OK\n"
                                "1795562143 host=b exitcode=EX_OK\n")


def test_new_file_mode_follows_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        log_to_file(str(tmp_path / "l"), "x")
    finally:
        os.umask(old)
    assert (tmp_path / "l").stat().st_mode & 0o777 == 0o640


def test_dash_means_stdout(capfd: pytest.CaptureFixture[str]) -> None:
    print("before", end="")
    assert log_to_file("-", "host=h exitcode=EX_OK", now=WHEN) == ()
    assert capfd.readouterr().out == "beforeNov 24 23:15:42 host=h exitcode=EX_OK\n"


def test_undecodable_bytes_are_written_back_as_bytes(tmp_path: Path) -> None:
    path = tmp_path / "l"
    log_to_file(str(path), "from=\udcff@x", time_format="%Y")
    assert path.read_bytes().endswith(b" from=\xff@x\n")


def test_cannot_open(tmp_path: Path) -> None:
    path = tmp_path / "missing" / "log"
    assert log_to_file(str(path), "LINE") == (
        f"cannot log to {path}: cannot open: No such file or directory", "log info was: LINE")


def test_invalid_time_format_is_an_empty_or_too_long_result(tmp_path: Path) -> None:
    path = tmp_path / "l"
    assert log_to_file(str(path), "LINE", time_format="x" * 127) == ()
    assert log_to_file(str(path), "LINE", time_format="x" * 128) == (
        f"cannot log to {path}: invalid logfile_time_format", "log info was: LINE")
    assert log_to_file("-", "LINE", time_format="%p" * 64)[0] == (
        "cannot log to -: invalid logfile_time_format")


@contextmanager
def _locked_by_other_process(path: Path, seconds: float) -> Iterator[None]:
    """Another process holds msmtp's fcntl write lock on *path* for *seconds*."""
    code = ("import fcntl, os, sys, time\n"
            "fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666)\n"
            "fcntl.lockf(fd, fcntl.LOCK_EX)\n"
            "print('locked', flush=True)\n"
            "time.sleep(float(sys.argv[2]))\n")
    holder = subprocess.Popen([sys.executable, "-c", code, str(path), str(seconds)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        yield
    finally:
        holder.wait(timeout=30)


def test_waits_for_the_lock(tmp_path: Path) -> None:
    path = tmp_path / "l"
    with _locked_by_other_process(path, 0.5):
        started = time.monotonic()
        assert log_to_file(str(path), "LINE", time_format="%Y") == ()
        assert time.monotonic() - started >= 0.3
    assert path.read_text().endswith(" LINE\n")


def test_gives_up_after_the_timeout(tmp_path: Path) -> None:
    path = tmp_path / "l"
    with _locked_by_other_process(path, 3):
        messages = log_to_file(str(path), "LINE", lock_timeout=1)
    assert messages == (f"cannot log to {path}: cannot lock (tried for 1 seconds): "
                        "Resource temporarily unavailable", "log info was: LINE")
    assert path.read_text() == ""


def test_a_lock_that_msmtp_respects(tmp_path: Path) -> None:
    """While smtpq holds the lock msmtp cannot write: it is the same fcntl lock."""
    import fcntl

    path = tmp_path / "l"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666)
    fcntl.lockf(fd, fcntl.LOCK_EX)
    try:
        probe = subprocess.run(
            [sys.executable, "-c", "import fcntl, os, sys\n"
             "fd = os.open(sys.argv[1], os.O_WRONLY)\n"
             "fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)\n", str(path)],
            capture_output=True, text=True, check=False)
    finally:
        os.close(fd)
    assert "Resource temporarily unavailable" in probe.stderr


# -- against the real msmtp ---------------------------------------------------------


def _msmtp_log(tmp_path: Path, *args: str) -> tuple[str, str]:
    """Run msmtp against a closed port with a logfile; return (logged line, stderr)."""
    log = tmp_path / "msmtp.log"
    proc = subprocess.run(
        [msmtp_binary(), "--host=127.0.0.1", "--port=1", f"--logfile={log}", *args],
        input=b"Subject: x\n\nbody\n", capture_output=True, timeout=30, check=False,
        env={"PATH": os.environ.get("PATH", "/bin"), "HOME": str(tmp_path), "LC_ALL": "C",
             "TZ": "UTC"})
    assert proc.returncode == 75
    return (log.read_text() if log.exists() else ""), proc.stderr.decode()


@pytest.mark.msmtp
def test_same_line_and_time_stamp_as_msmtp(tmp_path: Path) -> None:
    fmt = "%a %A %b %B %p|%x|%%|"
    for _ in range(3):  # retry if a second boundary changed the stamp in between
        before = time.time()
        real, _ = _msmtp_log(tmp_path, f"--logfile-time-format={fmt}", "-f", "o'k@x", "a@b")
        line = ("host=127.0.0.1 tls=off auth=off from=o'k@x recipients=a@b "
                "errormsg='cannot connect to 127.0.0.1, port 1: Connection refused' "
                "exitcode=EX_TEMPFAIL")
        ours = tmp_path / "ours.log"
        ours.unlink(missing_ok=True)
        assert log_to_file(str(ours), line, time_format=fmt, now=before) == ()
        if real == ours.read_text():
            return
        (tmp_path / "msmtp.log").unlink()
    assert real == ours.read_text()


@pytest.mark.msmtp
def test_same_failure_messages_as_msmtp(tmp_path: Path) -> None:
    target = tmp_path / "missing" / "log"
    proc = subprocess.run(
        [msmtp_binary(), "--host=127.0.0.1", "--port=1", f"--logfile={target}", "-f", "a@b",
         "x@y"], input=b"\n", capture_output=True, timeout=30, check=False,
        env={"PATH": os.environ.get("PATH", "/bin"), "HOME": str(tmp_path), "LC_ALL": "C"})
    line = ("host=127.0.0.1 tls=off auth=off from=a@b recipients=x@y "
            "errormsg='cannot connect to 127.0.0.1, port 1: Connection refused' "
            "exitcode=EX_TEMPFAIL")
    expected = [f"msmtp: {m}" for m in log_to_file(str(target), line)]
    assert proc.stderr.decode().splitlines()[-2:] == expected
