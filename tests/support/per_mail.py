"""The fence: the modules a per-mail process loads, in one place, and what each path may not load.

A process that handles one mail, ``smtpq-sendmail`` enqueuing it or sending it
with ``--send-now``, pays for every module it imports, on every mail.  The
modules listed here, and only these, are written for import cost: records
(``smtpq.sender.record``) instead of dataclasses, annotations under
``TYPE_CHECKING = False``, no ``typing``, ``enum`` or ``re`` at run time
where the path has not loaded them anyway, heavy imports inside the function
that needs them.  Every other module of smtpq is ordinary Python
(``dataclasses``, ``enum``, ``typing``), and ``tests/test_python_style.py``
holds it to that.

Each :class:`PerMailPath` names, exactly, the smtpq modules one path loads and
the modules it must not load (a name covers its submodules).  The import-budget
tests (``tests/queue/enqueue/test_queue_enqueue_sqlite.py``,
``…/test_queue_enqueue_postgres.py``, ``tests/sender/modes/test_send_now_imports.py``)
run each path for real in a fresh interpreter (:func:`run_path`) and fail when it
loads an smtpq module that is not listed for it, no longer loads one that is
(so the lists stay exact: a new module on a path is a decision, made here), or
loads a forbidden one.

The costs in the comments are what an import adds to a bare ``python -S`` on the
project's reference machine (docs/performance.md), estimated from ``valgrind
--tool=callgrind`` instruction counts at 15 million instructions a millisecond
(within a quarter of that page's ``-X importtime`` figures for ``typing``,
``socket`` and ``dataclasses``); a shared library (``_datetime``, ``_ssl``) and
a package's many files cost more than their count says.  One more smtpq module
costs about 0.4 million instructions, plus finding and reading its file.  The
TLS path's costs are on top of ``ssl`` and ``socket``, with the CPU time measured
beside them (``TLS_SEND_NEVER``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import smtpq

# -- the smtpq modules of each path --------------------------------------------------

#: Every path: the entry, the command line, msmtp's configuration and the mail's headers.
ENTRY = frozenset({
    "smtpq", "smtpq.cli", "smtpq.cli.boundary", "smtpq.cli.entry", "smtpq.cli.sendmail",
    "smtpq.sender", "smtpq.sender.errors", "smtpq.sender.record", "smtpq.sender.sysexits",
    "smtpq.sender.options", "smtpq.sender.options.arguments", "smtpq.sender.options.commandline",
    "smtpq.sender.options.getopt", "smtpq.sender.options.parser", "smtpq.sender.options.table",
    "smtpq.sender.config", "smtpq.sender.config.choose", "smtpq.sender.config.commands",
    "smtpq.sender.config.diagnostics", "smtpq.sender.config.files",
    "smtpq.sender.config.finalize", "smtpq.sender.config.lexer", "smtpq.sender.config.parser",
    "smtpq.sender.config.paths", "smtpq.sender.config.settings", "smtpq.sender.config.values",
    "smtpq.sender.message", "smtpq.sender.message.addresses", "smtpq.sender.message.compose",
    "smtpq.sender.message.envelope", "smtpq.sender.message.headers",
    "smtpq.sender.message.recipients", "smtpq.sender.message.rewrite",
    "smtpq.sender.modes", "smtpq.sender.modes.intake", "smtpq.sender.modes.setup",
})

#: The queue's side of every enqueue: settings, the new message and its rows.
QUEUE = frozenset({
    "smtpq.queue", "smtpq.queue.settings", "smtpq.queue.simple_toml", "smtpq.queue.new_message",
    "smtpq.queue.enqueue", "smtpq.queue.enqueue.submit",
    "smtpq.queue.store", "smtpq.queue.store.rows",
})

#: A SQLite queue file: stdlib ``sqlite3``, private files, the marker beside it.
SQLITE = frozenset({
    "smtpq.queue.enqueue.sqlite", "smtpq.queue.store.sqlite_file",
    "smtpq.queue.store.private_files", "smtpq.queue.store.marker",
})

#: ``after_enqueue = "flush"``: starting a background flusher unless one runs.
START_FLUSH = frozenset({"smtpq.queue.flush", "smtpq.queue.flush.lock", "smtpq.queue.flush.trigger"})

#: ``-f`` looking for the account by its ``from`` (a pattern), and ``%H`` in ``domain``.
ACCOUNT_BY_FROM = frozenset({
    "smtpq.sender.config.matching", "smtpq.sender.config.wildcard",
    "smtpq.sender.config.substitute", "smtpq.sender.options.canonical",
})

#: ``--send-now``: the delivery engine and the SMTP client, without TLS or AUTH.
SEND = frozenset({
    "smtpq.sender.modes.dispatch", "smtpq.sender.modes.send", "smtpq.sender.message.wire",
    "smtpq.sender.delivery", "smtpq.sender.delivery.courier", "smtpq.sender.delivery.outcome",
    "smtpq.sender.delivery.report", "smtpq.sender.delivery.sessions",
    "smtpq.sender.log", "smtpq.sender.log.line",
    "smtpq.sender.protocol", "smtpq.sender.protocol.capabilities",
    "smtpq.sender.protocol.connection", "smtpq.sender.protocol.deadlines",
    "smtpq.sender.protocol.dial",
    "smtpq.sender.protocol.redaction", "smtpq.sender.protocol.reply",
    "smtpq.sender.protocol.session", "smtpq.sender.protocol.transaction",
    "smtpq.sender.protocol.transcript",
})

#: STARTTLS or SMTPS, and ``auth on`` with a password (PLAIN), on top of ``SEND``.
#: ``ssl`` is what TLS costs; these modules add no more than they need, written
#: for import cost like the others (``typing`` and ``dataclasses`` on top of
#: ``ssl`` are 10–15 ms of CPU, a fifth of such a send: see ``TLS_SEND_NEVER``).
#: A SASL mechanism's module is loaded for its method only (``auth.sasl``),
#: ``auth.channel`` is a type, and ``tls.names`` words a failed verification.
TLS_AND_AUTH = frozenset({
    "smtpq.sender.tls", "smtpq.sender.tls.certinfo", "smtpq.sender.tls.context",
    "smtpq.sender.tls.handshake", "smtpq.sender.tls.priorities",
    "smtpq.sender.auth", "smtpq.sender.auth.authenticate",
    "smtpq.sender.auth.choice", "smtpq.sender.auth.exchange", "smtpq.sender.auth.netrc",
    "smtpq.sender.auth.passwords", "smtpq.sender.auth.sasl", "smtpq.sender.auth.sasl.base",
    "smtpq.sender.auth.sasl.simple",
})

# -- what the paths may not load ---------------------------------------------------------

#: No per-mail path loads these libraries.  Costs: measured by docs/performance.md where
#: it says so, else at least what their instruction count says (the files of a package
#: cost more to find and read than to run).
LIBRARIES = (
    "sqlalchemy",  # ≈ 170 ms (docs/performance.md): the store, for the flush and the commands
    "alembic",  # ≥ 90 ms with SQLAlchemy and Mako: migrations, once per database
    "tenacity",  # ≥ 7 ms: the flush's retries
    "click",  # ≥ 6 ms: the ``smtpq`` command line
    "keyring",  # ≥ 17 ms: a password from the system keyring, for an account that asks
    "scramp",  # ≥ 16 ms: SCRAM, for an account that uses it
    "spnego",  # ≥ 38 ms: GSSAPI, for an account that uses it
    "cryptography",  # ≥ 17 ms (cryptography.x509): certificate details, for --serverinfo and --debug
    "python_socks",  # ≥ 3 ms: only with ``proxy_host``
    "idna",  # ≈ 1.4 ms: only for a non-ASCII host name (protocol.dial)
    "dns",  # dnspython: ``--configure``'s SRV lookups
    "psycopg", "psycopg_binary",  # ≈ 150 ms (docs/performance.md): the enqueue calls libpq
    "pg8000",  # ≈ 100 ms (docs/performance.md)
)

#: What the plain paths (enqueue, ``--send-now`` without TLS or AUTH) do without.
STDLIB_NEVER = (
    "dataclasses",  # ≈ 5.3 ms with inspect: records instead (smtpq.sender.record)
    "inspect", "ast", "dis", "tokenize", "linecache",  # ≈ 4.9 ms: what dataclasses imports
    "copy",  # ≈ 0.7 ms: Record.replace builds the record again instead
    "weakref",  # ≈ 0.6 ms: dataclasses' and threading's
    "typing",  # ≈ 3.2 ms: annotations under ``TYPE_CHECKING = False``
    "re",  # ≈ 1.9 ms with enum: the headers and addresses are scanned by hand
    "json",  # ≈ 2.3 ms with re: ``[]`` options are written as text (rows.encode_options)
    "tomllib",  # ≈ 5.1 ms with re: smtpq's config.toml is read by simple_toml when it can be
    "ssl", "_ssl",  # ≈ 5 ms and libssl: the TLS layer, for TLS accounts only
    "hashlib", "_hashlib",  # ≈ 0.8 ms and libcrypto: fingerprints, lock names of server queues
    "ipaddress",  # ≈ 1.4 ms: certificate names
    "encodings.idna",  # ≈ 2.4 ms: the idna codec (protocol.dial passes ASCII names encoded)
    "subprocess",  # ≈ 3.7 ms with signal and threading: eval, passwordeval (the flush is posix_spawned)
    "threading",  # ≈ 1.4 ms, and the interpreter's teardown waits for its threads
    "atexit",  # the interpreter's teardown (smtpq.cli.sendmail.exit_now skips it)
    "logging",  # ≈ 4.4 ms: nothing per mail logs through it
    "pathlib",  # ≈ 3.3 ms: os.path
    "tempfile",  # ≈ 3.3 ms: nothing per mail needs a temporary file
    "email",  # ≈ 5.8 ms (email.utils): the headers are parsed by smtpq.sender.message
    "shlex",  # ≈ 2.2 ms: eval's and the options' quoting, off these paths
    "urllib",  # ≈ 2.7 ms: a database URL is unquoted only when it holds a ``%``
    "importlib",  # ≈ 0.1 ms (its core is frozen in): lazy exports use ``__import__``
    "contextlib",  # ≈ 1.3 ms: try/finally
    "asyncio",  # ≈ 14 ms: nothing here is asynchronous
    "smtpq.cli.main",  # the ``smtpq`` command line: click (≥ 6 ms)
    "smtpq.queue.store.sql",  # the store: SQLAlchemy (≈ 170 ms)
)

#: Enqueue: ``enum``, ``socket`` and the SMTP client stay away (a SQLite enqueue has
#: ``collections``/``functools`` from ``_sqlite3`` and ``datetime`` from ``sqlite3``).
ENQUEUE_NEVER = (
    "enum",  # ≈ 1.4 ms: sysexits, states and settings are plain constants
    "socket",  # ≈ 2.7 ms with enum, selectors, array: only ``%C``, and ``%H`` without $HOSTNAME
    "selectors", "select", "array",  # ≈ 1 ms: what socket imports
    "ctypes",  # ≈ 1.1 ms: only the PostgreSQL enqueue (libpq)
    "smtpq.sender.delivery", "smtpq.sender.protocol", "smtpq.sender.tls", "smtpq.sender.auth",
    "smtpq.sender.log",  # an enqueued mail is sent by the flush
)

#: A PostgreSQL enqueue does without what the SQLite one needs.
POSTGRES_NEVER = (
    "sqlite3", "_sqlite3",  # ≈ 1.7 ms with collections and functools: the queue is elsewhere
    "datetime", "_datetime",  # ≈ 0.5 ms, a shared library: timestamps are formatted with time
    "collections", "functools",  # ≈ 0.8 and 1.0 ms: what _sqlite3 imports
)

#: A plain ``--send-now`` (TLS and AUTH off) loads ``socket.py`` and with it ``enum``,
#: ``selectors``, ``array``, ``collections`` and ``functools`` (≈ 2.7 ms, in
#: ``protocol.dial``; docs/performance.md, "Public modules only"); not the queue, nor
#: what only the queue needs.
SEND_NEVER = (
    "smtpq.queue",  # sending now never touches the queue
    "sqlite3", "_sqlite3",  # ≈ 1.7 ms
    "datetime", "_datetime",  # ≈ 0.5 ms, a shared library: only certificate dates need it
    "ctypes",  # ≈ 1.1 ms: libpq
    "smtpq.sender.tls", "smtpq.sender.auth",  # ssl, hashlib, ipaddress, base64: ≈ 15 ms
    "smtpq.sender.log.logfile",  # fcntl, a shared library: only with ``logfile``
    "smtpq.sender.log.syslogger",  # syslog, a shared library: only with ``syslog``
    "smtpq.sender.config.show",  # 0.4 M instructions: --pretend only
)

#: STARTTLS and AUTH load ``ssl``, and with it ``re``, ``enum``, ``socket``, ``base64`` and
#: ``struct``; not what ``ssl`` does not need.  Costs on top of ``python -S -c "import ssl,
#: socket"``: instructions as above, and CPU measured on the development VM (2 cores),
#: the median of 150 paired runs with and without the import, in brackets.
TLS_SEND_NEVER = (
    "dataclasses",  # ≈ 3.1 ms (10 ms CPU) with inspect: records instead (smtpq.sender.record)
    "inspect", "ast", "dis", "tokenize", "linecache", "importlib",  # what dataclasses imports
    "copy", "weakref",  # dataclasses' too
    "typing",  # ≈ 1.0 ms (3.5 ms CPU): annotations under ``TYPE_CHECKING = False``
    "datetime", "_datetime",  # ≈ 0.3 ms (1.5 ms CPU), a shared library: certificate dates only
    "hashlib", "_hashlib",  # ≈ 0.4 ms (1.7 ms CPU): tls_fingerprint, CRAM-MD5, --serverinfo only
    "hmac", "secrets", "random",  # ≈ 0.7 ms (3.2 ms CPU) with hashlib: CRAM-MD5, DIGEST-MD5 only
    "ipaddress",  # ≈ 0.4 ms (1.5 ms CPU): names in a certificate that failed verification
    "subprocess", "signal", "threading",  # ≈ 1.2 ms (4.1 ms CPU): passwordeval only
    "contextlib",  # ≈ 0.2 ms: subprocess's, and the key ring's
    "smtpq.queue",  # sending now never touches the queue
    "sqlite3", "_sqlite3",  # ≈ 1.7 ms
    "ctypes",  # ≈ 1.1 ms: libpq
    "logging",  # ≈ 4.4 ms: only the keyring password source
    "json", "tomllib", "email", "pathlib", "tempfile", "urllib", "asyncio",  # see STDLIB_NEVER
    "smtpq.cli.main", "smtpq.queue.store.sql",  # click, SQLAlchemy: see STDLIB_NEVER
)


@dataclass(frozen=True)
class PerMailPath:
    """One per-mail path: exactly the smtpq modules it loads, and what it must not load."""

    name: str
    modules: frozenset[str]
    never: tuple[str, ...]

    def surprises(self, loaded: Iterable[str]) -> dict[str, list[str]]:
        """What *loaded* (the modules a run added) says against this path; empty lists if nothing."""
        loaded = set(loaded)
        ours = {name for name in loaded if name == "smtpq" or name.startswith("smtpq.")}
        return {
            "smtpq modules not listed for the path": sorted(ours - self.modules),
            "listed smtpq modules the path no longer loads": sorted(self.modules - ours),
            "modules the path must not load": sorted(
                name for name in loaded
                if any(name == never or name.startswith(never + ".") for never in self.never)),
        }


ENQUEUE_SQLITE = PerMailPath("enqueue into SQLite", ENTRY | QUEUE | SQLITE,
                             LIBRARIES + STDLIB_NEVER + ENQUEUE_NEVER)
ENQUEUE_SQLITE_THEN_FLUSH = PerMailPath(
    "enqueue into SQLite, after_enqueue flush", ENQUEUE_SQLITE.modules | START_FLUSH,
    ENQUEUE_SQLITE.never)
ENQUEUE_ACCOUNT_BY_FROM = PerMailPath(
    "enqueue into SQLite, the account looked for by -f, %H in domain",
    ENQUEUE_SQLITE.modules | ACCOUNT_BY_FROM, ENQUEUE_SQLITE.never)
ENQUEUE_POSTGRES = PerMailPath(
    "enqueue into PostgreSQL", ENTRY | QUEUE | {"smtpq.queue.enqueue.postgres",
                                                 "smtpq.queue.enqueue.libpq", "smtpq.queue.errors"},
    tuple(name for name in LIBRARIES + STDLIB_NEVER + ENQUEUE_NEVER if name != "ctypes")
    + POSTGRES_NEVER)
SEND_NOW = PerMailPath("--send-now, TLS and AUTH off", ENTRY | SEND,
                       LIBRARIES + STDLIB_NEVER + SEND_NEVER)
SEND_NOW_TLS_AUTH = PerMailPath("--send-now with STARTTLS or SMTPS, and AUTH",
                                ENTRY | SEND | TLS_AND_AUTH, LIBRARIES + TLS_SEND_NEVER)

#: Every path.
PATHS = (ENQUEUE_SQLITE, ENQUEUE_SQLITE_THEN_FLUSH, ENQUEUE_ACCOUNT_BY_FROM, ENQUEUE_POSTGRES,
         SEND_NOW, SEND_NOW_TLS_AUTH)
#: The modules a per-mail process loads: the only ones that may be written for import
#: cost (tests/test_python_style.py).
PER_MAIL = frozenset().union(*(path.modules for path in PATHS))

# -- running a path --------------------------------------------------------------------

# ``python -S``: without ``site`` the interpreter has loaded about 25 modules, and
# an editable install's import hook (a ``.pth`` file) cannot load re, enum,
# collections or importlib before smtpq does, which would hide them here.  smtpq
# is found where this test process found it.
_RUN = """
    import sys
    loaded = set(sys.modules)  # at start-up
    sys.path.insert(0, sys.argv[1])
    import smtpq.cli.entry  # what bin/smtpq-sendmail imports
    from smtpq.cli.sendmail import sendmail
    code = sendmail(sys.argv[3:], sys.argv[2])
    added = sorted(set(sys.modules) - loaded)
    sys.stdout.write(f"{code}\\n{','.join(added)}\\n")
    """


def run_path(argv: list[str], mail: bytes, env: Mapping[str, str], *,
             program: str = "sendmail") -> tuple[int, list[str]]:
    """Run ``sendmail(argv)`` in a fresh interpreter on *mail*: its exit code and the modules
    it loaded.  ``SMTPQ_*`` variables of this process are left out of *env*'s base."""
    base = {key: value for key, value in os.environ.items() if not key.startswith("SMTPQ_")}
    root = os.path.dirname(os.path.dirname(smtpq.__file__))
    result = subprocess.run([sys.executable, "-S", "-c", textwrap.dedent(_RUN), root, program,
                             *argv], input=mail, capture_output=True, timeout=120, check=False,
                            env={**base, **env})
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    code, loaded = result.stdout.decode().splitlines()[-2:]
    return int(code), loaded.split(",")


NOTHING: dict[str, list[str]] = {
    "smtpq modules not listed for the path": [],
    "listed smtpq modules the path no longer loads": [],
    "modules the path must not load": [],
}
