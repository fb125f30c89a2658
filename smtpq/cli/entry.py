"""The two programs' entry points: which program argv[0] asks for (a multi-call binary).

``smtpq`` and ``smtpq-sendmail`` are one program under several names
(docs/interface.md): ``sendmail`` and ``msmtpq`` queue like ``smtpq-sendmail``,
``mailq`` lists the queue like ``smtpq list``, ``msmtp-queue`` (or ``msmtpq
--q-mgmt``) manages it with msmtpq's operations.  Any other name keeps the
program it was installed as.  Only the chosen program's modules are imported:
the sendmail path never loads click.
"""

from __future__ import annotations

import gc
import sys

from smtpq.cli.boundary import program_name, run

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: this is the per-mail path
if TYPE_CHECKING:
    from collections.abc import Sequence

SENDMAIL_NAMES = ("sendmail", "msmtpq", "smtpq-sendmail")


def sendmail_main(argv: Sequence[str] | None = None) -> None:
    """``smtpq-sendmail`` (``bin/smtpq-sendmail``): sendmail unless argv[0] names another program."""
    if argv is None:
        gc.disable()  # a one-mail process: see smtpq.cli.sendmail
    args = list(sys.argv if argv is None else argv)
    _dispatch(args, default="sendmail", entry=argv is None)


def smtpq_main(argv: Sequence[str] | None = None) -> None:
    """``smtpq`` (console script, ``python -m smtpq``): the management group unless argv[0] says otherwise."""
    _dispatch(list(sys.argv if argv is None else argv), default="smtpq", entry=False)


def _dispatch(argv: list[str], *, default: str, entry: bool) -> None:
    argv0 = argv[0] if argv else default
    prog = program_name(argv0)
    if prog == "msmtp-queue" or (prog == "msmtpq" and argv[1:2] == ["--q-mgmt"]):
        gc.enable()
        from smtpq.cli.msmtp_queue import msmtp_queue  # msmtpq's queue management

        args = argv[2:] if prog == "msmtpq" else argv[1:]
        sys.exit(run(lambda: msmtp_queue(args), prog, argv0))
    if prog == "mailq":
        gc.enable()
        from smtpq.cli.main import mailq_main

        mailq_main(argv[1:])
    if prog in SENDMAIL_NAMES or (default == "sendmail" and prog != "smtpq"):
        from smtpq.cli.sendmail import main

        main(argv, entry=entry)
        return
    gc.enable()
    from smtpq.cli.main import cli

    cli.main(args=argv[1:], prog_name="smtpq")
