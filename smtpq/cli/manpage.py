"""The man pages ``smtpq(1)`` and ``smtpq-sendmail(1)``, generated from the help texts.

``smtpq(1)`` walks the click group (every visible command, its usage, help and
options); ``smtpq-sendmail(1)`` is built from ``--help``'s text
(``smtpq.sender.options.helptext``).  Sections that no help text holds
(files, environment, exit status) are written here.  The output is committed
in ``smtpq/data/man/`` (shipped in the wheel; ``smtpq install-units`` puts it
in place); ``tests/dropin/test_manpages.py`` regenerates it and fails when it
differs, so a changed option cannot leave the pages behind.

Regenerate with ``python -m smtpq.cli.manpage smtpq/data/man``.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator, Sequence

import click

from smtpq import __version__

PAGES = ("smtpq.1", "smtpq-sendmail.1")
_OPTION_COLUMN = 29  # helptext: "  %-29s%s"


# -- roff ------------------------------------------------------------------------

def escape(text: str) -> str:
    """*text* safe in roff: backslashes, hyphens (so options copy as ASCII), leading dots."""
    text = text.replace("\\", "\\e").replace("-", "\\-").replace("'", "\\(aq")
    text = re.sub(r"[^\x00-\x7f]", lambda m: f"\\[u{ord(m.group()):04X}]", text)
    return re.sub(r"^([.])", r"\\&\1", text, flags=re.MULTILINE)


def header(name: str, summary: str) -> list[str]:
    """``.TH`` (no date, so regenerating never differs by day) and NAME."""
    return [f'.TH "{name.upper()}" "1" "" "smtpq {__version__}" "User Commands"',
            ".SH NAME", f"{escape(name)} \\- {escape(summary)}"]


def paragraphs(text: str) -> list[str]:
    """click help text as roff: ``\\b`` paragraphs verbatim, the others filled."""
    lines: list[str] = []
    for block in re.split(r"\n\s*\n", click.unstyle(text).strip()):
        block_lines = block.splitlines()
        lines.append(".PP")
        if block_lines and block_lines[0].strip() == "\b":
            lines += [".nf", *(escape(line) for line in _dedent(block_lines[1:])), ".fi"]
        else:
            lines.append(escape(" ".join(line.strip() for line in block_lines)))
    return lines


def _dedent(lines: Sequence[str]) -> list[str]:
    indent = min((len(line) - len(line.lstrip()) for line in lines if line.strip()), default=0)
    return [line[indent:] for line in lines]


def tagged(tag: str, text: str) -> list[str]:
    """A ``.TP`` entry: *tag* in bold, then *text*."""
    return [".TP", f"\\fB{escape(tag)}\\fR", escape(text)]


# -- smtpq(1): the click group -------------------------------------------------

def walk(command: click.Command, ctx: click.Context
         ) -> Iterator[tuple[click.Command, click.Context]]:
    """*command* and, for a group, every visible subcommand, depth first."""
    yield command, ctx
    if isinstance(command, click.Group):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                yield from walk(sub, context(sub, name, ctx))


def context(command: click.Command, name: str, parent: click.Context | None = None
            ) -> click.Context:
    """The context *command* runs in as *name* (with its own ``context_settings``)."""
    return command.make_context(name, [], parent=parent, resilient_parsing=True)


def usage(command: click.Command, ctx: click.Context) -> str:
    return " ".join([ctx.command_path, *command.collect_usage_pieces(ctx)])


def options(command: click.Command, ctx: click.Context, *, with_help: bool = False) -> list[str]:
    """``.TP`` entries for the visible options of *command* (``--help`` only if *with_help*)."""
    lines: list[str] = []
    for param in command.get_params(ctx):
        is_help = param is command.get_help_option(ctx)
        if not isinstance(param, click.Option) or (is_help and not with_help):
            continue
        record = param.get_help_record(ctx)
        if record is not None:
            lines += tagged(record[0], record[1])
    return lines


def command_section(command: click.Command, ctx: click.Context) -> list[str]:
    lines = [f'.SS "{escape(usage(command, ctx))}"']
    lines += paragraphs(command.help or "")
    return lines + options(command, ctx)


def smtpq_page(group: click.Group) -> str:
    """``smtpq(1)`` for the click group *group*."""
    root = context(group, "smtpq")
    lines = header("smtpq", "manage the smtpq mail queue")
    lines += [".SH SYNOPSIS", f"\\fB{escape(usage(group, root))}\\fR",
              ".SH DESCRIPTION", *paragraphs(group.help or ""), *paragraphs(_SMTPQ_INTRO),
              ".SH OPTIONS", *options(group, root, with_help=True), ".SH COMMANDS"]
    for command, ctx in walk(group, root):
        if command is not group and not isinstance(command, click.Group):
            lines += command_section(command, ctx)
    lines += _sections(_SMTPQ_TAIL)
    return "\n".join(lines) + "\n"


# -- smtpq-sendmail(1): the --help text -----------------------------------------

OptionBlock = tuple[str, str, list[tuple[str, str]]]


def parse_help_options(text: str) -> Iterator[OptionBlock]:
    """(heading, text after its colon, [(option, description)…]) per block of
    ``--help``'s option list (``Accepted but ignored: -A, …`` has text, no options)."""
    heading, rest = "", ""
    entries: list[tuple[str, str]] = []
    for line in text.splitlines():
        if not line.startswith(" "):
            if heading:
                yield heading, rest, entries
            heading, _, rest = line.partition(":")
            rest, entries = rest.strip(), []
        elif line.startswith(" " * (_OPTION_COLUMN + 2)) and entries:
            name, description = entries[-1]
            entries[-1] = (name, f"{description} {line.strip()}")
        else:
            entries.append(_split_option(line[2:]))
    if heading:
        yield heading, rest, entries


def _split_option(body: str) -> tuple[str, str]:
    if len(body) > _OPTION_COLUMN and body[_OPTION_COLUMN - 1] == " ":
        return body[:_OPTION_COLUMN].strip(), body[_OPTION_COLUMN:].strip()
    name, _, description = body.partition(" ")
    return name, description.strip()


Mode = tuple[str, list[tuple[list[str], str]]]


def parse_modes(usage_text: str, prog: str) -> Iterator[Mode]:
    """(mode, [(synopsis lines, description)…]) from ``--help``'s usage part."""
    mode = ""
    entries: list[tuple[list[str], str]] = []
    for line in usage_text.splitlines()[1:]:
        text = line.strip()
        if line and not line.startswith(" "):
            if mode:
                yield mode, entries
            mode, entries = line.rstrip(":"), []
        elif text.startswith(prog):
            if not entries or entries[-1][1]:
                entries.append(([], ""))
            entries[-1][0].append(text)
        elif text and entries:
            entries[-1] = (entries[-1][0], f"{entries[-1][1]} {text}".strip())
    if mode:
        yield mode, entries


def sendmail_page(usage_text: str, options_text: str, prog: str = "smtpq-sendmail") -> str:
    """``smtpq-sendmail(1)`` from the two parts of ``--help``."""
    modes = list(parse_modes(usage_text, prog))
    lines = header(prog, "send mail through a queue, compatible with msmtp and sendmail")
    lines.append(".SH SYNOPSIS")
    for _, entries in modes:
        lines += [f"\\fB{escape(line)}\\fR\n.br" for synopsis, _ in entries for line in synopsis]
    lines += [".SH DESCRIPTION", *paragraphs(_SENDMAIL_INTRO), ".SH MODES"]
    for mode, entries in modes:
        lines.append(f'.SS "{escape(mode)}"')
        for synopsis, description in entries:
            lines += [".PP", ".nf", *(f"\\fB{escape(line)}\\fR" for line in synopsis), ".fi",
                      ".RS", escape(description), ".RE"]
    lines.append(".SH OPTIONS")
    for heading, text, options_ in parse_help_options(options_text):
        lines.append(f'.SS "{escape(heading)}"')
        if text:
            lines += [".PP", escape(text)]
        for name, description in options_:
            lines += tagged(name, description)
    lines += _sections(_SENDMAIL_TAIL)
    return "\n".join(lines) + "\n"


# -- hand-written sections --------------------------------------------------------

def _sections(sections: Sequence[tuple[str, str]]) -> list[str]:
    lines: list[str] = []
    for title, text in sections:
        lines.append(f'.SH "{title}"')
        lines += paragraphs(text)
    return lines


_SMTPQ_INTRO = """\
Mail enters the queue through smtpq-sendmail(1) (or any program that runs
sendmail); smtpq shows, delivers, retries, holds, re-routes and removes it.  Called as mailq it
is "smtpq list".  "smtpq link" makes smtpq the system's sendmail and mailq."""

_FILES = """\
\b
/etc/msmtprc, ~/.msmtprc, $XDG_CONFIG_HOME/msmtp/config
    msmtp's configuration files, read as msmtp reads them.
$XDG_CONFIG_HOME/smtpq/config.toml (or $SMTPQ_CONFIG)
    queue settings: database, after_enqueue, max_age, retry_first,
    retry_max, keep_sent, keep_sent_content, claim_lease, parallel_connections,
    stage_timeout, bounce, delay_warning, notify_command.
$XDG_DATA_HOME/smtpq/queue.sqlite3
    the queue (default database).  Its directory and files (with -wal, -shm,
    the .flush.lock and the .marker beside it) must belong to you, with no
    access for others, and every directory above must belong to you or root
    and not be writable by others (unless sticky, as /tmp): else smtpq
    refuses the queue with exit 73, naming the path, its owner and its mode.
$XDG_DATA_HOME/smtpq/queue.sqlite3.marker
    the queue marker: the highest message id committed; a queue that lost
    mail (missing, emptied, lost WAL commits) is refused with 74 while it says
    more (smtpq db check, smtpq db recover; remove it to accept the database).
$XDG_DATA_HOME/smtpq/queue.sqlite3.damaged-TIME
    a damaged queue kept aside by smtpq db recover."""

_ENVIRONMENT = """\
\b
SMTPQ_DATABASE   queue database URL (SQLite or PostgreSQL), overrides config.toml
SMTPQ_CONFIG     the queue settings file
SMTPQ_HINTS      1: print a "hint:" line after msmtp's error messages for
                 common configuration mistakes; 0: never; unset: only when
                 standard error is a terminal"""

_NOTICES = """\
A mail that fails for good or expires is reported once to its envelope sender
as a delivery status notification (RFC 3464), queued like any mail with the
null sender and sent through the same account; never for mail from the null
sender, never about a notice.  bounce = "none" in config.toml turns these off;
delay_warning = "4h" adds one "delayed" report per mail still pending that
long.  notify_command = "..." runs once per failed, expired or delayed mail
(through /bin/sh -c, 30 seconds at most), with SMTPQ_NOTIFY_ID,
SMTPQ_NOTIFY_STATUS (failed, expired or delayed), SMTPQ_NOTIFY_FROM,
SMTPQ_NOTIFY_RECIPIENTS, SMTPQ_NOTIFY_REASON and SMTPQ_NOTIFY_SUBJECT set;
its failure never changes the queue.  "smtpq retry" makes a new report
possible."""

_SMTPQ_TAIL = (
    ("NOTICES", _NOTICES),
    ("FILES", _FILES),
    ("ENVIRONMENT", _ENVIRONMENT),
    ("EXIT STATUS", ("0 on success; a sysexits(3) code otherwise (64 usage, 65 damaged "
                     "queue found by db check or messages lost by db recover, 66 no such "
                     "message or queue database, 73 cannot create, 74 damaged or lost queue "
                     "database, 75 try again, 77 permission, 78 configuration).\n\n"
                     "smtpq flush exits with the worst thing that happened to the mail it "
                     "handled: 0 all sent or nothing to do; 75 something deferred, the server "
                     "unreachable, or the flush interrupted (the mail stays queued); the "
                     "failure's own code (69 unavailable, 65 data, ...) when mail failed or "
                     "expired for good, which beats 75.\n\n"
                     "smtpq check exits 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (the monitoring "
                     "plugin convention).")),
    ("SEE ALSO", "smtpq-sendmail(1), msmtp(1), mailq(1), crontab(5), systemd.timer(5)"),
)

_SENDMAIL_INTRO = """\
smtpq-sendmail reads a mail on standard input and stores it durably in the
queue, with msmtp's options and msmtp's configuration files; it exits 0 once
the mail is stored and starts a background flush that delivers it.  Errors in
the configuration or the command line are reported as msmtp reports them,
with msmtp's exit codes.

Called as sendmail (for instance through a /usr/sbin/sendmail link made by
"smtpq link") it behaves the same; called as mailq it lists the queue.

For msmtpq users: called as msmtpq it queues the mail like sendmail (mutt's
"set sendmail = msmtpq" keeps working through a link), and called as
msmtp-queue (or msmtpq --q-mgmt) it takes msmtpq's management ops: -r sends
every queued mail now, -R sends chosen mails, -d (the default) lists the
queue, -p purges chosen mails, -a purges all mail after asking, -h prints
the usage.  "smtpq import-msmtpq" moves the mail waiting in an msmtpq queue
into smtpq."""

_SENDMAIL_TAIL = (
    ("FILES", _FILES),
    ("ENVIRONMENT", _ENVIRONMENT),
    ("EXIT STATUS", ("As msmtp: 0 when the mail is queued (or sent, with --send-now), "
                     "else a sysexits(3) code: 64 usage, 65 data, 68 no host, 69 unavailable, "
                     "73 the queue cannot be created or is not safely yours, 74 I/O, "
                     "75 temporary failure, 76 protocol, 77 permission, "
                     "78 configuration.  With -q, as smtpq flush: 0 all sent, 75 deferred or "
                     "offline, the failure's code when mail failed or expired for good.")),
    ("SEE ALSO", "smtpq(1), msmtp(1), sendmail(8), mailq(1)"),
)


# -- files -----------------------------------------------------------------------

def render_all() -> dict[str, str]:
    """Every page's text, by file name."""
    from smtpq.cli.main import cli
    from smtpq.sender.options.helptext import help_text

    assert isinstance(cli, click.Group)
    usage_text, options_text = split_help(help_text("smtpq-sendmail"))
    return {"smtpq.1": smtpq_page(cli), "smtpq-sendmail.1": sendmail_page(usage_text, options_text)}


def split_help(text: str) -> tuple[str, str]:
    """``--help`` as (usage and modes, option list): the options start at "General options:"."""
    usage_text, separator, rest = text.partition("\nGeneral options:\n")
    if not separator:
        raise ValueError("--help has no 'General options:' block")
    return usage_text, "General options:\n" + rest


def write_all(directory: str) -> list[str]:
    """Write every page into *directory*; the paths written."""
    os.makedirs(directory, exist_ok=True)
    written = []
    for name, text in render_all().items():
        path = os.path.join(directory, name)
        with open(path, "w", encoding="utf-8") as file:
            file.write(text)
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m smtpq.cli.manpage DIR``: (re)generate the pages in DIR."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        sys.stderr.write("usage: python -m smtpq.cli.manpage DIRECTORY\n")
        return 64
    for path in write_all(args[0]):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
