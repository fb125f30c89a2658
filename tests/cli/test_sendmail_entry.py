"""``smtpq-sendmail`` as a process entry: what it spares a one-mail process, and what not.

The entry turns the cyclic garbage collector off while it starts (docs/performance.md);
the enqueue keeps it off, a flush (``-q``) and a listing (``-bp``) turn it back on.
The probe runs the real entry in a child and reports the collector's state at exit.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from tests.support.queue_home import QueueHome, queue_home  # noqa: F401

PROBE = textwrap.dedent("""
    import gc, os, sys
    from smtpq.cli import entry, sendmail

    def report_and_exit(code):
        os.write(1, f"{code} gc={'on' if gc.isenabled() else 'off'}\\n".encode())
        os._exit(code)

    sendmail.exit_now = report_and_exit
    sys.argv = ["smtpq-sendmail", *sys.argv[1:]]
    entry.sendmail_main()
""")


def probe(home: QueueHome, *args: str, mail: bytes = b"") -> str:
    result = subprocess.run([sys.executable, "-c", PROBE, *args], input=mail, env=home.env,
                            capture_output=True, timeout=120, check=False)
    assert result.stderr == b""
    return result.stdout.decode().splitlines()[-1]  # after what the mode printed


@pytest.fixture
def home(queue_home: QueueHome) -> QueueHome:  # noqa: F811
    queue_home.account(9)
    queue_home.configure(after_enqueue="none")
    return queue_home


def test_an_enqueue_runs_without_the_cyclic_collector(home: QueueHome) -> None:
    assert probe(home, "-t", "-i", mail=b"To: b@example.org\n\nbody\n") == "0 gc=off"
    assert len(home.messages()) == 1


@pytest.mark.parametrize("args", [("-q",), ("-bp",)])
def test_the_queue_commands_run_with_it(home: QueueHome, args: tuple[str, ...]) -> None:
    assert probe(home, *args) == "0 gc=on"


def test_called_as_a_function_it_leaves_the_collector_alone(home: QueueHome) -> None:
    code = textwrap.dedent("""
        import gc
        from smtpq.cli.entry import sendmail_main
        try:
            sendmail_main(["smtpq-sendmail", "--version"])
        except SystemExit:
            print("gc=on" if gc.isenabled() else "gc=off")
    """)
    result = subprocess.run([sys.executable, "-c", code], env={**os.environ, **home.env},
                            capture_output=True, timeout=60, check=True)
    assert result.stdout.decode().splitlines()[-1] == "gc=on"


#: Runs ``bin/smtpq-sendmail`` as its interpreter would, with a real SIGINT delivered to
#: the process while it imports ``smtpq.cli.entry`` (a Ctrl-C during start-up).
CTRL_C_WHILE_STARTING = textwrap.dedent("""
    import os, runpy, signal, sys

    class CtrlC:
        def find_spec(self, name, path=None, target=None):
            if name == "smtpq.cli.entry":
                os.kill(os.getpid(), signal.SIGINT)
            return None

    sys.meta_path.insert(0, CtrlC())
    runpy.run_path(os.environ["LAUNCHER"], run_name="__main__")
""")


def test_ctrl_c_while_it_starts_says_interrupted_without_a_traceback() -> None:
    launcher = os.path.join(os.path.dirname(__file__), "..", "..", "bin", "smtpq-sendmail")
    result = subprocess.run([sys.executable, "-c", CTRL_C_WHILE_STARTING],
                            env=dict(os.environ, LAUNCHER=launcher), input=b"",
                            capture_output=True, timeout=60, check=False)
    assert (result.returncode, result.stderr) == (75, b"smtpq-sendmail: interrupted\n")
