"""``--send-now`` without TLS or AUTH imports only what a plain SMTP exchange needs.

The direct send is measured against msmtp (docs/performance.md, issue item 4):
a process that imports the TLS layer (``ssl``, ``hashlib``, ``ipaddress``:
about 15 ms), ``dataclasses`` (7 ms with ``inspect``), ``re``,
``typing``, Python's ``socket.py`` or the queue cannot keep
up.  Each module below once sat on this path, or would keep the interpreter's
teardown (``threading``, ``atexit``: see ``smtpq.cli.sendmail.exit_now``);
none may creep back.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import smtpq

#: Modules (and their submodules) a plain ``--send-now`` must not import.
NOT_ON_THE_PLAIN_SEND_PATH = (
    # smtpq's layers that a send without TLS, AUTH, --debug or a log does not use
    "smtpq.sender.tls", "smtpq.sender.auth", "smtpq.sender.log.logfile",
    "smtpq.sender.log.syslogger", "smtpq.sender.config.show", "smtpq.queue", "smtpq.cli.main",
    # TLS, certificates, IDN host names
    "ssl", "_ssl", "hashlib", "_hashlib", "ipaddress", "cryptography", "idna", "encodings.idna",
    # stdlib conveniences the sender layers no longer need
    "socket", "selectors", "datetime", "importlib", "contextlib", "subprocess", "logging",
    # records, not dataclasses (smtpq.sender.record), with what dataclasses imports
    "dataclasses", "inspect", "ast", "dis", "tokenize", "linecache", "copy", "weakref",
    # annotations guarded by TYPE_CHECKING; no regexes.  Not ``enum`` (with the
    # collections, functools, operator, keyword and reprlib it imports): Python's
    # socket.py, which every send loads, imports it, so the attempt's vocabulary
    # (smtpq.sender.delivery.outcome) is enums at no cost.
    "typing", "re",
    # the queue and the management command line
    "sqlite3", "_sqlite3", "sqlalchemy", "alembic", "tenacity", "click",
    # either would make the process pay for the interpreter's teardown
    "threading", "atexit",
)

# Run with ``python -S``: an editable install's import hook (a ``.pth`` file run
# by ``site``) loads re, enum, collections, functools and importlib before any
# smtpq code, which would hide them here.  Without ``site`` the interpreter has
# loaded about 25 modules; smtpq is found where this test process found it.
SEND_NOW = """
    import sys
    loaded = set(sys.modules)  # at start-up
    sys.path.insert(0, sys.argv[1])
    from smtpq.cli.sendmail import sendmail
    code = sendmail(["--send-now", "-C", sys.argv[2], "-t", "-i"], "smtpq-sendmail")
    watched = sys.argv[3].split(",")
    print(code)
    print(",".join(sorted(name for name in set(sys.modules) - loaded
                          if any(name == w or name.startswith(w + ".") for w in watched))))
    """


def send_now(rc: str, watched: tuple[str, ...], mail: bytes) -> tuple[str, str]:
    """Run a real ``--send-now`` in a fresh interpreter: its exit code and the watched imports."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("SMTPQ_")}
    root = os.path.dirname(os.path.dirname(smtpq.__file__))
    result = subprocess.run([sys.executable, "-S", "-c", textwrap.dedent(SEND_NOW), root, rc,
                             ",".join(watched)], input=mail, capture_output=True, timeout=120,
                            check=False, env={**env, "HOME": "/nonexistent"})
    assert result.returncode == 0, result.stderr
    code, imported = result.stdout.decode().splitlines()
    return code, imported


def test_a_plain_send_imports_no_tls_auth_queue_or_heavy_stdlib(smtp_sink, tmp_path):
    sink = smtp_sink()
    rc = tmp_path / "msmtprc"
    rc.write_text("defaults\nauth off\ntls off\nsyslog off\ntimeout 30\n\n"
                  f"account plain\nhost 127.0.0.1\nport {sink.port}\nfrom a@example.test\n\n"
                  "account default : plain\n")
    rc.chmod(0o600)
    mail = b"To: b@example.test\nSubject: plain\n\n" + b"x" * 70 + b"\n"
    code, imported = send_now(str(rc), NOT_ON_THE_PLAIN_SEND_PATH, mail)
    assert code == "0"
    assert imported == ""
    assert b"Subject: plain" in sink.messages(1)[0]
