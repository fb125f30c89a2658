"""smtpq-sendmail reads configurations and command lines exactly as msmtp 1.8.23 does.

For every case of ``pretend_corpus.CASES`` both programs run in the same
temporary HOME: they must accept or reject alike, with the same exit code, the
same messages (modulo the program name) and, under ``--pretend``, the same value
for every key msmtp prints.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.cli.pretend_corpus import CASES, Case
from tests.support.programs import msmtp_binary, smtpq_sendmail

#: Lines smtpq prints under --pretend that msmtp 1.8.23 omits (its bug: §0.10).
SMTPQ_ONLY_LINES = ("set_msgid_header = ",)


def _run(argv: list[str], case: Case, home: str) -> subprocess.CompletedProcess[str]:
    env = {"HOME": home, "PATH": os.environ["PATH"], "USER": "tester", "LOGNAME": "tester",
           "HOSTNAME": "testhost", "LANG": "C", "LC_ALL": "C"}
    env.update(dict(case.env))
    proc = subprocess.run(argv, input=case.stdin, capture_output=True, env=env, cwd=home,
                          timeout=30, check=False)
    return _decoded(proc)


def _decoded(proc: subprocess.CompletedProcess[bytes]) -> subprocess.CompletedProcess[str]:
    return subprocess.CompletedProcess(proc.args, proc.returncode,
                                       proc.stdout.decode("utf-8", "replace"),
                                       proc.stderr.decode("utf-8", "replace"))


def _messages(stderr: str, argv0: str) -> list[str]:
    """stderr lines with the program name (msmtp's or glibc's full argv[0]) replaced."""
    out = []
    for line in stderr.splitlines():
        for prefix in (argv0, os.path.basename(argv0)):
            if line.startswith(prefix + ": "):
                line = "PROG: " + line[len(prefix) + 2:]
                break
        out.append(line)
    return out


def _pretend_lines(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if not line.startswith(SMTPQ_ONLY_LINES)]


def _prepare_home(case: Case, home: str) -> None:
    if case.rc is None:
        return
    path = os.path.join(home, ".msmtprc")
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(case.rc)
    os.chmod(path, case.rc_mode)


@pytest.mark.msmtp
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_same_behaviour_as_msmtp(case: Case, tmp_path) -> None:
    home = str(tmp_path)
    _prepare_home(case, home)
    extra = ["--pretend"] if case.pretend else []
    msmtp, smtpq = msmtp_binary(), smtpq_sendmail()
    theirs = _run([msmtp, *extra, *case.args], case, home)
    ours = _run([smtpq, *extra, *case.args], case, home)

    assert ours.returncode == theirs.returncode, (ours.stderr, theirs.stderr)
    assert _messages(ours.stderr, smtpq) == _messages(theirs.stderr, msmtp)
    if case.pretend:
        assert _pretend_lines(ours.stdout) == _pretend_lines(theirs.stdout)


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 40
    assert sum(1 for c in CASES if c.rc is not None and "line" in c.name or "invalid" in c.name) > 5
