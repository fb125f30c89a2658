"""One error boundary: every failure is ``PROG: message`` plus a sysexits code, never a traceback.

The boundary (``smtpq.cli.boundary``) is the only place that prints errors and
picks exit codes.  Whatever the arguments, the configuration file or the bytes
on stdin, ``smtpq-sendmail`` ends in a clean message: no Python traceback, and
no "internal error" (which would mean an exception escaped the hierarchy).
"""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smtpq.cli.boundary import report, run
from smtpq.cli.sendmail import sendmail
from smtpq.sender.errors import ConfigError, DeliveryError, SmtpqError, UsageError
from smtpq.sender.sysexits import ExitCode
from tests.support.programs import smtpq_sendmail


def test_an_error_is_printed_with_the_program_name_and_its_code(capsys) -> None:
    code = run(lambda: (_ for _ in ()).throw(ConfigError("f: line 3: unknown command x")), "sendmail")
    assert code == ExitCode.EX_CONFIG
    assert capsys.readouterr().err == "sendmail: f: line 3: unknown command x\n"


def test_details_follow_the_message_each_with_the_prefix(capsys) -> None:
    error = DeliveryError("the server did not accept the mail", smtp_message=["554 no"])
    assert run(lambda: (_ for _ in ()).throw(error), "msmtp") == ExitCode.EX_UNAVAILABLE
    assert capsys.readouterr().err.splitlines() == [
        "msmtp: the server did not accept the mail", "msmtp: server message: 554 no"]


def test_an_unexpected_exception_is_one_line_without_its_text(capsys) -> None:
    def boom() -> int:
        raise ValueError("secret-password-in-text")
    assert run(boom, "smtpq-sendmail") == ExitCode.EX_SOFTWARE
    err = capsys.readouterr().err
    assert err == "smtpq-sendmail: internal error: ValueError\n"
    assert "secret" not in err


def test_undecodable_bytes_in_a_message_are_written_back_as_bytes(capsysbinary) -> None:
    report("msmtp", UsageError("invalid argument \udcff for --port"))
    assert capsysbinary.readouterr().err == b"msmtp: invalid argument \xff for --port\n"


def test_a_real_process_shows_no_traceback_for_a_broken_configuration(tmp_path) -> None:
    rc = tmp_path / "rc"
    rc.write_bytes(b"account a\nhost \xff\x00\nport 99999999999\n")
    rc.chmod(0o600)
    proc = subprocess.run([smtpq_sendmail(), "-C", str(rc), "--pretend"], capture_output=True,
                          env={**os.environ, "HOME": str(tmp_path)}, timeout=30, check=False)
    assert proc.returncode == ExitCode.EX_CONFIG
    assert b"Traceback" not in proc.stderr
    assert proc.stderr.startswith(b"smtpq-sendmail: ")


_ARG = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["-t", "-i", "-oi", "-f", "-a", "-C", "--", "-P", "--pretend", "-d",
                     "--read-envelope-from", "--host=127.0.0.1", "--port=1", "--tls",
                     "--auth", "-N", "-R", "--from=<>", "-F", "-X", "-bp", "-q", "--syslog"]),
)


def _isolated_env(home: str) -> dict[str, str]:
    return {"HOME": home, "PATH": os.environ.get("PATH", ""),
            "SMTPQ_DATABASE": f"sqlite:///{home}/q.sqlite3",
            "SMTPQ_CONFIG": os.path.join(home, "smtpq.toml"), "LC_ALL": "C"}


@pytest.mark.parametrize("unused", [0])
@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(args=st.lists(_ARG, max_size=6), config=st.binary(max_size=300),
       mail=st.binary(max_size=300))
def test_any_input_ends_in_a_clean_exit(unused, tmp_path, monkeypatch, args, config, mail) -> None:
    home = str(tmp_path)
    with open(os.path.join(home, "smtpq.toml"), "w") as f:
        f.write('[queue]\nafter_enqueue = "none"\n')
    with open(os.path.join(home, ".msmtprc"), "wb") as f:
        f.write(config)
    os.chmod(os.path.join(home, ".msmtprc"), 0o600)
    env = _isolated_env(home)
    monkeypatch.setattr(os, "environ", env)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(mail)))
    # Never the network: these modes would try to connect somewhere.
    safe = [a for a in args if not any(m in a for m in ("send-now", "serverinfo", "rmqs",
                                                           "configure", "-S"))]
    try:
        code = sendmail(safe, "smtpq-sendmail")
    except SmtpqError as error:
        assert "internal error" not in error.message
        code = int(error.exit_code)
    except SystemExit as leave:  # --help/--version or the mailq listing exit through click
        code = leave.code or 0
    assert isinstance(code, int)
