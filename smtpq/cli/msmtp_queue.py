"""``msmtp-queue`` (and ``msmtpq --q-mgmt``) as argv[0]: msmtpq's queue management on smtpq's queue.

msmtpq users keep their habits: ``-r`` runs the whole queue (every mail, back-off
ignored, as msmtpq tries each one), ``-R`` sends chosen mails, ``-d`` (or no
op) lists the queue, ``-p`` purges chosen mails, ``-a`` purges all mail after a
``[y/N]`` question, ``-h`` prints the usage.  As in msmtpq only the first
argument counts, its first character is dropped (``OP=${1:1}``), an unknown op
prints the usage and exits 1, and choices are read from stdin: a mail number
(its position in the listing), confirmed with ``[Y/n]``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from smtpq.queue.states import MessageStatus

USAGE = """\

  usage : msmtp-queue functions

          msmtp-queue < op >
          ops : -r   run (flush) mail queue - all mail in queue
                -R   send selected individual mail(s) in queue
                -d   display (list) queue contents   (<-- default)
                -p   purge individual mail(s) from queue
                -a   purge all mail in queue
                -h   this helpful blurt

          ( one op only ; any others ignored )
"""

#: The mail "in the queue" for msmtpq's listing: everything not yet sent.
WAITING = (MessageStatus.QUEUED, MessageStatus.DEFERRED, MessageStatus.SENDING,
           MessageStatus.HELD, MessageStatus.FAILED, MessageStatus.EXPIRED)


def msmtp_queue(args: Sequence[str]) -> int:
    """Run msmtpq's management op ``args[0]``; the exit code."""
    op = args[0][1:] if args else ""
    if op == "r":
        return _smtpq(["flush", "--now", "--verbose"])
    if op in ("d", ""):
        _display("")
        return 0
    if op in ("R", "p"):
        return _select("send" if op == "R" else "purge")
    if op == "a":
        return _purge_all()
    sys.stdout.write(USAGE)
    if op == "h":
        return 0
    sys.stdout.write(f"  [ -{op} ] is an unknown msmtp-queue option\n\n")
    return 1


def _smtpq(args: list[str]) -> int:
    """Run ``smtpq ARGS`` (through its error boundary); its exit code."""
    from smtpq.cli.main import cli

    try:
        cli.main(args=args, prog_name="msmtp-queue")
    except SystemExit as done:
        return int(done.code or 0)
    return 0


def _waiting() -> list[tuple[int, str, str, str]]:
    """(id, from, to, subject) of every mail not yet sent, oldest first."""
    from smtpq.queue.control.manage import Queue
    from smtpq.queue.settings import load_settings

    with Queue(load_settings().database) as queue:
        return [(e.id, e.envelope_from, ", ".join(e.recipients), e.subject or "")
                for e in queue.entries(WAITING)]


def _display(verb: str) -> list[int]:
    """msmtpq's listing; the ids in listing order (empty: the queue is empty, said so)."""
    mails = _waiting()
    for number, (message_id, sender, recipients, subject) in enumerate(mails, 1):
        click.echo(f"\n  mail  num=[ {number} ]  id=[ {message_id} ]")
        click.echo(f"From: {sender or '<>'}\nTo: {recipients}\nSubject: {subject}")
    click.echo()
    if not mails:
        click.echo("\n  no mail in queue\n" if not verb
                   else f"\n  mail queue is empty (nothing to {verb})\n")
    return [message_id for message_id, *_ in mails]


def _select(verb: str) -> int:
    """``-R``/``-p``: choose mails by number, confirm each, send or purge it."""
    while ids := _display(verb):
        if len(ids) == 1:
            number = 1
        else:
            answer = _ask(f"  enter mail number to {verb}\n    ( <cr> alone to exit ) ..: ")
            if not answer:
                return 0
            if not answer.isdigit() or not 1 <= int(answer) <= len(ids):
                click.echo(f"\n  [ {answer} ] is not a valid mail number (1 to {len(ids)})\n")
                continue
            number = int(answer)
        message_id = ids[number - 1]
        if _confirm(f"  {verb} :\n    mail num=[ {number} ]\n          id=[ {message_id} ]",
                    default=True):
            _act(verb, message_id)
        if len(ids) == 1:
            return 0
    return 0


def _act(verb: str, message_id: int) -> None:
    if verb == "send":
        _smtpq(["flush", "--now", "--verbose", "--id", str(message_id)])
        return
    _smtpq(["purge", "--yes", str(message_id)])


def _purge_all() -> int:
    """``-a``: every mail not yet sent, after a ``[y/N]`` question."""
    ids = _display("purge")
    if not ids:
        return 0
    if not _confirm("  remove (purge) all mail from the queue", default=False):
        click.echo("  nothing done ; queue is untouched")
        return 0
    from smtpq.queue.control.manage import Queue, Selection
    from smtpq.queue.settings import load_settings

    with Queue(load_settings().database) as queue:
        # Never a mail a flusher is sending right now (as ``smtpq purge``).
        queue.purge(Selection(statuses=tuple(s for s in WAITING if s is not MessageStatus.SENDING)))
    click.echo("\n  msmtp queue purged (all mail)\n")
    return 0


def _ask(prompt: str) -> str:
    click.echo(prompt, nl=False)
    line = sys.stdin.readline()
    return line.strip()


def _confirm(question: str, *, default: bool) -> bool:
    """msmtpq's ``ok``: ``[Y/n]`` or ``[y/N]`` until y, n or an empty answer; EOF is no."""
    click.echo(question)
    while True:
        click.echo(f"  ok [{'Y/n' if default else 'y/N'}] ..: ", nl=False)
        line = sys.stdin.readline()
        if not line:
            click.echo()
            return False
        answer = line.strip()
        if answer in ("y", "Y"):
            return True
        if answer in ("n", "N"):
            return False
        if not answer:
            return default
        click.echo("yYnN<cr> only please")
