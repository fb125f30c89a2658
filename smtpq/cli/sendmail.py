"""``smtpq-sendmail``: the msmtp/sendmail-compatible entry point (also argv[0] ``sendmail``).

This is the enqueue hot path: it imports only the option parser at start-up and
each mode's code when that mode runs.  ``mailq`` as argv[0] lists the queue.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from smtpq.cli.boundary import program_name, run


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry: dispatch on argv[0], run through the error boundary, exit."""
    argv = list(sys.argv if argv is None else argv)
    argv0 = argv[0] if argv else "smtpq-sendmail"
    prog = program_name(argv0)
    if prog == "mailq":
        from smtpq.cli.main import mailq_main

        mailq_main(argv[1:])
        return
    sys.exit(run(lambda: sendmail(argv[1:], prog), prog, argv0))


def sendmail(args: Sequence[str], prog: str) -> int:
    """Parse msmtp's command line and run the mode it asks for; returns the exit code."""
    from smtpq.sender.options import Mode, parse_args

    cmd = parse_args(args)
    env = os.environ
    if cmd.mode is Mode.QUEUE_LIST:
        from smtpq.cli.listing import print_queue  # sendmail -bp: the queue, like mailq

        return print_queue(env)
    if cmd.mode in (Mode.SENDMAIL, Mode.QUEUE_FLUSH):
        from smtpq.queue.modes import run_queue_mode

        return run_queue_mode(cmd, prog=prog, env=env, args=args)
    from smtpq.sender.modes.dispatch import run_sender_mode

    return run_sender_mode(cmd, prog=prog, env=env)
