"""``smtpq-sendmail``: the msmtp/sendmail-compatible entry point (also argv[0] ``sendmail``).

This is the enqueue hot path: it imports only the option parser at start-up and
each mode's code when that mode runs (argv[0] is read by ``smtpq.cli.entry``).

Run as the process's entry (``bin/smtpq-sendmail``), it also spares the
enqueue two costs that buy nothing in a process that exits right after one
mail (docs/performance.md): the cyclic garbage collector, which runs a few
times while the modules load (about 0.5 ms) although nothing it could free
is made, and the interpreter's teardown of every module and object (about
2 ms), when nothing could still need it (no atexit handler, no thread).
The one-mail modes (enqueue, ``--send-now``, ``--serverinfo``…) keep the
collector off; ``-q`` (a flush, which may run long), ``-bp`` and ``mailq``
turn it back on.
"""

from __future__ import annotations

import gc
import os
import sys

from smtpq.cli.boundary import program_name, run

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (import cost)
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import NoReturn


def main(argv: Sequence[str], *, entry: bool = False) -> None:
    """Run the sendmail program for *argv* through the error boundary, and exit.

    With *entry* this is the process's entry point (see the module docstring):
    the collector is off until the mode is known, and the exit skips the teardown.
    """
    argv0 = argv[0] if argv else "smtpq-sendmail"
    prog = program_name(argv0)
    code = run(lambda: sendmail(argv[1:], prog), prog, argv0)
    if entry:
        exit_now(code)
    sys.exit(code)


def sendmail(args: Sequence[str], prog: str) -> int:
    """Parse msmtp's command line and run the mode it asks for; returns the exit code."""
    from smtpq.sender.options import Mode, parse_args

    cmd = parse_args(args)
    if cmd.mode in (Mode.QUEUE_FLUSH, Mode.QUEUE_LIST):
        gc.enable()  # a flush runs long, a listing reads many rows: they need the collector
    env = os.environ
    if cmd.mode == Mode.QUEUE_LIST:
        from smtpq.cli.commands.listing import print_queue  # sendmail -bp: the queue, like mailq

        return print_queue(env)
    if cmd.mode == Mode.QUEUE_FLUSH:
        from smtpq.cli.flushing import flush_from_sendmail  # sendmail -q

        return flush_from_sendmail(cmd, env=env)
    if cmd.mode == Mode.SENDMAIL:
        from smtpq.queue.enqueue.submit import enqueue_from_stdin

        return enqueue_from_stdin(cmd, env=env, args=args, stdin=sys.stdin.buffer)
    from smtpq.sender.modes.dispatch import run_sender_mode

    return run_sender_mode(cmd, prog=prog, env=env)


def exit_now(code: int) -> NoReturn:
    """``sys.exit(code)``, without the interpreter's teardown when nothing needs it.

    The teardown destroys every module and object one by one (about 2 ms after
    an enqueue).  It is skipped only when no atexit handler can be registered
    and no thread runs (neither module was ever imported), once stdout and
    stderr are flushed; otherwise, or if flushing fails, Python exits as usual.
    """
    if "atexit" in sys.modules or "threading" in sys.modules:
        sys.exit(code)
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    except (OSError, ValueError):
        sys.exit(code)  # let Python report the failed flush as it always does
    os._exit(code)
