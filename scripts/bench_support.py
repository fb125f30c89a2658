"""The harness under ``scripts/bench``: smtp-sink, timed runs, test mails, figures.

Stdlib only, like the reference scripts in the shared ``bench/`` directory
(docs/performance.md), whose measuring rules it keeps:

* a run is timed from fork to reap; CPU (user+sys) and peak RSS come from
  ``wait4``; helpers a command leaves in its process group are waited for and
  counted (the harness is a child subreaper);
* every server is ``smtp-sink`` on 127.0.0.1, on a free port, recognised by a
  random greeting tag, bounded by ``timeout(1)`` and stopped by process group;
  deliveries are checked against its own counter (``-c``); the one exception is
  the STARTTLS send (``TlsSink``: aiosmtpd, as smtp-sink speaks no TLS);
* figures print as ``name: median V unit (min A, max B, n=N)``, followed by
  the ratio to the anchor figure of ``reference/bench-anchors.md``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable

DEADLINE = time.monotonic() + float(os.environ.get("BENCH_MAX_S", "7200"))

#: The reference figures (bench-anchors.md, measured 2026-11-24 on the project's
#: machine kind); a ratio to one of them is only a hint, the paired ratios of
#: the same run are the figures that count.
ANCHORS = {
    "python -c pass": (8.4, "ms"),
    "msmtpq enqueue": (15.16, "ms"),
    "python stdlib sqlite3 enqueue": (14.27, "ms"),
    "msmtp direct send": (48.02, "ms"),
    "msmtp-queue -r": (19.0, "msgs/s"),
    "smtp-source -d -s 1": (3652.0, "msgs/s"),
    "smtp-source -d -s 4": (24052.0, "msgs/s"),
    "smtplib one connection": (2504.0, "msgs/s"),
    "msmtp 50 MiB peak RSS": (17.3, "MiB"),
}


def become_subreaper() -> None:
    """Orphans of timed commands come to us, so their time is counted and they are reaped."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass


def free_port() -> int:
    """A loopback TCP port that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answers(proc: subprocess.Popen[bytes] | None, port: int, seconds: float,
            probe: Callable[[socket.socket], bool]) -> bool:
    """Whether the server *proc* answers on 127.0.0.1:*port* within *seconds*, as *probe*
    judges from a connection: ours, not a recycled port's owner."""
    end = time.monotonic() + seconds
    while time.monotonic() < end and proc is not None and proc.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as connection:
                return probe(connection)
        except OSError:
            time.sleep(0.05)
    return False


def _offers_starttls(connection: socket.socket) -> bool:
    connection.recv(512)  # the greeting
    connection.sendall(b"EHLO bench\r\n")
    time.sleep(0.05)
    reply = connection.recv(4096)
    connection.sendall(b"QUIT\r\n")
    return b"STARTTLS" in reply


class Sink:
    """``smtp-sink -c`` on 127.0.0.1:<free port>, in its own process group."""

    def __init__(self, count_dir: str, backlog: int = 1024) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.backlog = backlog
        self.tag = "sink-" + uuid.uuid4().hex[:12]
        self.count_file = os.path.join(count_dir, self.tag + ".count")

    def __enter__(self) -> Sink:
        exe = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"
        life = str(int(max(60, DEADLINE - time.monotonic() + 60)))
        for _ in range(5):
            self.port = free_port()
            cmd = ["timeout", life, exe, "-h", self.tag, "-c"]
            if os.geteuid() == 0:
                cmd += ["-u", "nobody"]  # smtp-sink refuses to run as root without -u
            cmd += [f"127.0.0.1:{self.port}", str(self.backlog)]
            with open(self.count_file, "wb") as out:
                self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out,
                                             stderr=subprocess.DEVNULL, start_new_session=True)
            if self._ready():
                return self
            self.stop()
        raise SystemExit("could not start smtp-sink on a free loopback port")

    def _ready(self) -> bool:
        return answers(self.proc, self.port, 5, self._greets_with_tag)

    def _greets_with_tag(self, connection: socket.socket) -> bool:
        banner = connection.recv(512)
        connection.sendall(b"QUIT\r\n")
        connection.recv(512)
        return self.tag.encode() in banner

    def messages(self) -> int:
        """Messages accepted so far: the last ``mesg=N`` smtp-sink -c printed."""
        time.sleep(0.3)  # let the sink write its counter line
        with open(self.count_file, "rb") as f:
            # Only the tail: the file grows by a line per message, and reading it all
            # would bloat this process, whose size every child's peak RSS includes
            # (Linux counts the parent's pages at fork in the child's ru_maxrss).
            f.seek(max(0, os.fstat(f.fileno()).st_size - 4096))
            words = f.read().replace(b"\r", b"\n").split()
        counts = [int(w[5:]) for w in words if w.startswith(b"mesg=")]
        return counts[-1] if counts else 0

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        except ProcessLookupError:
            pass

    def __exit__(self, *exc: object) -> None:
        self.stop()


class TlsSink:
    """aiosmtpd's ``Sink`` handler with STARTTLS on 127.0.0.1:<free port>, its own group.

    smtp-sink speaks no TLS.  aiosmtpd (from BENCH_TOOLS, installed there by
    ``scripts/bench``, never into the measured environment) gets a fresh RSA 2048
    certificate for 127.0.0.1 made by ``openssl``; both clients trust it through
    ``tls_trust_file``.  Only the clients are measured (their CPU from ``wait4``),
    so the server's own speed changes the latencies alike, not the CPU figures.
    """

    def __init__(self, directory: str, tools: str) -> None:
        self.directory, self.tools = directory, tools
        self.cert = os.path.join(directory, "tls-cert.pem")
        self.key = os.path.join(directory, "tls-key.pem")
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    def __enter__(self) -> TlsSink:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-keyout", self.key, "-out", self.cert, "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                       check=True, capture_output=True)
        env = dict(os.environ, PYTHONPATH=self.tools)
        for _ in range(5):
            self.port = free_port()
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Sink",
                 "-l", f"127.0.0.1:{self.port}", "--tlscert", self.cert, "--tlskey", self.key],
                env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, start_new_session=True)
            if self._ready():
                return self
            self.stop()
        raise SystemExit("could not start aiosmtpd with STARTTLS on a free loopback port")

    def _ready(self) -> bool:
        return answers(self.proc, self.port, 10, _offers_starttls)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            _killpg(self.proc.pid)
            self.proc.wait()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Result:
    """One timed run: wall and CPU seconds, peak RSS in MiB."""

    __slots__ = ("cpu", "rss", "wall")

    def __init__(self, wall: float, cpu: float, rss: float) -> None:
        self.wall, self.cpu, self.rss = wall, cpu, rss


def run(cmd: list[str], *, stdin: str | None = None, env: dict[str, str] | None = None,
        timeout: float = 600, log: object = None) -> Result:
    """Run *cmd* in its own process group until it and its group have exited."""
    left = DEADLINE - time.monotonic()
    if left <= 0:
        raise SystemExit("BENCH_MAX_S exceeded")
    fin = open(stdin, "rb") if stdin else subprocess.DEVNULL  # noqa: SIM115
    out = log if log is not None else subprocess.DEVNULL
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=fin, stdout=out, stderr=out, env=env,
                            start_new_session=True)
    killed: list[int] = []
    timer = threading.Timer(min(timeout, left), lambda: (killed.append(1), _killpg(proc.pid)))
    timer.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
        cpu, peak = usage.ru_utime + usage.ru_stime, usage.ru_maxrss
        while True:  # what it left in its group, re-parented to us (subreaper)
            try:
                _, _, more = os.wait4(-proc.pid, 0)
            except ChildProcessError:
                break
            cpu, peak = cpu + more.ru_utime + more.ru_stime, max(peak, more.ru_maxrss)
    finally:
        timer.cancel()
        if fin is not subprocess.DEVNULL:
            fin.close()
    wall = time.perf_counter() - start
    proc.returncode = code = os.waitstatus_to_exitcode(status)
    if killed:
        raise SystemExit(f"timed out: {cmd}")
    if code != 0:
        raise SystemExit(f"exit {code}: {' '.join(cmd)}")
    return Result(wall, cpu, peak / 1024)


#: Runs a command from a fresh, small interpreter and reports its wall time, CPU and
#: peak RSS: Linux counts the pages a parent has when it spawns a child in that
#: child's ru_maxrss, so measured from this (larger) harness, every command would
#: seem to need at least the harness's own peak.
_SMALL_PARENT = r"""
import os, sys, time
argv, stdin = sys.argv[2:], sys.argv[1]
actions = [(os.POSIX_SPAWN_OPEN, 0, stdin or os.devnull, os.O_RDONLY, 0),
           (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
           (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0)]
start = time.perf_counter()
pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=actions)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - start
print(os.waitstatus_to_exitcode(status), wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss)
"""


def run_small_parent(python: str, cmd: list[str], *, stdin: str | None = None,
                     env: dict[str, str] | None = None, timeout: float = 600) -> Result:
    """``run`` for peak-RSS figures: *cmd* is started by a fresh ``python -I -S``
    (about 8 MiB), so its ru_maxrss is its own (no group helpers are waited for)."""
    out = subprocess.run([python, "-I", "-S", "-c", _SMALL_PARENT, stdin or "", *cmd],
                         env=env, capture_output=True, timeout=timeout, check=True).stdout
    code, wall, cpu, peak = out.split()
    if int(code) != 0:
        raise SystemExit(f"exit {int(code)}: {' '.join(cmd)}")
    return Result(float(wall), float(cpu), int(peak) / 1024)


def _killpg(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


def reap_orphans() -> None:
    """Reap detached children re-parented to us (background flushers) that have exited."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def wait_for_orphans(keep: set[int], timeout: float = 30) -> None:
    """Wait until every child but *keep* has exited: detached background flushers,
    re-parented to us, which must not share the CPUs with the next timed run."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        reap_orphans()
        if not _children() - keep:
            return
        time.sleep(0.02)
    raise SystemExit(f"children {sorted(_children() - keep)} still running after {timeout} s")


def _children() -> set[int]:
    """Our child processes, from /proc (a subreaper gets its orphans' descendants)."""
    me, found = os.getpid(), set()
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(b")") + 2:].split()
        if int(fields[1]) == me and fields[0] != b"Z":
            found.add(int(name))
    return found


def make_message(path: str, size: int = 4096, to: str = "rcpt@example.test") -> str:
    """An RFC 5322 message of *size* bytes: 7 header fields, 76-byte body lines, LF ends."""
    header = ("From: sender@example.test\n"
              f"To: {to}\n"
              "Subject: bench message\n"
              "Date: Thu, 01 Jan 2026 00:00:00 +0000\n"
              f"Message-ID: <{uuid.uuid4().hex}@example.test>\n"
              "MIME-Version: 1.0\n"
              "Content-Type: text/plain; charset=us-ascii\n\n")
    line = "x" * 75 + "\n"
    left = max(2, size - len(header))
    block = line * 8192
    with open(path, "w") as f:
        f.write(header)
        while left > len(block):
            f.write(block)
            left -= len(block)
        f.write((line * (left // len(line) + 1))[:left - 1] + "\n")
    return path


def write_msmtprc(path: str, port: int, trust_file: str | None = None) -> str:
    """SMTP to 127.0.0.1:*port*: no auth, no syslog (read by msmtp and smtpq); plain,
    or with STARTTLS verified against *trust_file* (msmtp's default TLS settings)."""
    tls = f"tls on\ntls_trust_file {trust_file}\n" if trust_file else "tls off\n"
    with open(path, "w") as f:
        f.write(f"defaults\nauth off\n{tls}syslog off\ntimeout 30\n\n"
                f"account bench\nhost 127.0.0.1\nport {port}\n"
                "from sender@example.test\n\naccount default : bench\n")
    os.chmod(path, 0o600)
    return path


def write_queue_settings(home: str, after_enqueue: str, parallel_connections: int = 1) -> None:
    """smtpq's ``[queue]`` settings in *home*'s default place."""
    directory = os.path.join(home, ".config", "smtpq")
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "config.toml"), "w") as f:
        f.write(f'[queue]\nafter_enqueue = "{after_enqueue}"\n')
        if parallel_connections != 1:  # an older smtpq (--compare) may not know the key
            f.write(f"parallel_connections = {parallel_connections}\n")


def queue_db(home: str) -> str:
    """smtpq's default SQLite queue under *home*."""
    return os.path.join(home, ".local", "share", "smtpq", "queue.sqlite3")


def report(name: str, values: list[float], unit: str, nd: int = 1, *,
           anchor: str | None = None) -> float:
    """Print one figure (and its ratio to an anchor); returns the median."""
    median = statistics.median(values)
    text = (f"{name}: median {median:.{nd}f} {unit} "
            f"(min {min(values):.{nd}f}, max {max(values):.{nd}f}, n={len(values)})")
    if anchor is not None:
        value, anchor_unit = ANCHORS[anchor]
        text += f"  | anchor {anchor}: {value:g} {anchor_unit}, ratio {median / value:.2f}x"
    print(text, flush=True)
    return median


def report_ratio(name: str, numerators: list[float], denominators: list[float],
                 target: str = "") -> float:
    """A paired ratio: the median of the per-round ratios."""
    ratios = [a / b for a, b in zip(numerators, denominators, strict=True)]
    median = report(name, ratios, "x", 2)
    if target:
        print(f"#   target {target}", flush=True)
    return median


def describe_machine() -> None:
    """Print what the figures were measured on (for docs/performance.md)."""
    uname = os.uname()
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f
                        if line.startswith("model name")), cpu)
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    print(f"# machine: {os.cpu_count()} CPUs ({cpu}), {memory:.0f} GiB, "
          f"{uname.sysname} {uname.release}; load average {os.getloadavg()[0]:.2f}", flush=True)
