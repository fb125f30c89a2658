"""``smtpq db``: the queue database itself: its Alembic revision, checks, repair, compaction.

Migrations also run by themselves on first use; ``upgrade`` and ``current`` are for an
administrator who upgrades a shared (PostgreSQL) queue on purpose, or wants
to know where a database stands.  ``current`` never creates a database.

``vacuum``: a queue created by smtpq gives the space of deleted mail back by itself
(``smtpq.queue.store.sql.space``); an older queue larger than ``CONVERT_AT_MOST`` is
converted only by ``smtpq db vacuum``, on purpose, because a ``VACUUM`` holds the write
lock (enqueues wait) for as long as rewriting the file takes.
"""

from __future__ import annotations

import click

from smtpq.cli.common import database_url
from smtpq.cli.group import SmtpqGroup
from smtpq.cli.render import counted
from smtpq.queue.control.manage import database_missing, printable_url


@click.group(cls=SmtpqGroup)
def db() -> None:
    """Inspect and upgrade the queue database schema (Alembic).

    \b
    Example:
        smtpq db current
        SMTPQ_DATABASE=postgresql://smtpq@db/queue smtpq db upgrade
    """


@db.command()
def current() -> None:
    """Show the schema revision of the database, and the newest one.

    The newest (head) revision is the one this version of smtpq expects.

    \b
    Example:
        smtpq db current
    """
    from smtpq.queue.store.sql.migrate import head_revision

    url = database_url()
    revision, head = _revision(url), head_revision()
    click.echo(f"database: {printable_url(url)}")
    click.echo(f"current:  {_describe(revision, head)}")
    click.echo(f"head:     {head}")


@db.command()
def upgrade() -> None:
    """Create the database, or bring its schema to the newest revision.

    \b
    Example:
        smtpq db upgrade
    """
    from smtpq.queue.store.sql.migrate import current_revision
    from smtpq.queue.store.sql.migrate import upgrade as alembic_upgrade

    url = database_url()
    before = _revision(url)
    alembic_upgrade(url)
    after = current_revision(url)
    where = printable_url(url)
    if before == after:
        click.echo(f"{where} is at revision {after} (head); nothing to do")
    else:
        click.echo(f"upgraded {where} from {before or 'none'} to {after}")


def _revision(url: str) -> str | None:
    """The database's revision; None when it does not exist (without creating it)."""
    from smtpq.queue.store.sql.migrate import current_revision

    return None if database_missing(url) else current_revision(url)


def _describe(revision: str | None, head: str) -> str:
    if revision is None:
        return "none (no queue yet; smtpq db upgrade creates it)"
    if revision == head:
        return f"{revision} (head)"
    return f"{revision} (smtpq db upgrade brings it to {head})"


@db.command()
def check() -> None:
    """Check the queue database for damage and inconsistencies (read only).

    On SQLite: PRAGMA integrity_check and foreign_key_check, and the queue
    marker (ids must never go back: lost commits).  On every database: each
    message has its whole content (chunks in sequence, adding up to its size),
    at least one recipient and known statuses, and no row belongs to a missing
    message.  Prints one line per problem, naming the message id.

    Exit status: 0 when all is well; 65 (EX_DATAERR) when problems were found
    (see smtpq db recover); 74 (EX_IOERR) when the database could not be read.

    \b
    Example:
        smtpq db check
    """
    from smtpq.queue.store.sql.check import check_database
    from smtpq.sender.errors import DataError

    url = database_url()
    where = printable_url(url)
    report = check_database(url)
    for finding in report.findings:
        click.echo(str(finding))
    if report.findings:
        raise DataError(f"{where}: {len(report.findings)} problems found; "
                        "smtpq db recover salvages the intact messages")
    click.echo(f"{where}: ok ({report.messages} messages checked)")


@db.command()
@click.option("-o", "--output", metavar="PATH", type=click.Path(dir_okay=False),
              help="Write the salvaged queue to PATH (a new file) and leave the queue as it is.")
def recover(output: str | None) -> None:
    """Salvage every intact message of a damaged SQLite queue into a fresh database.

    The damaged file (and its -wal) is kept as queue.sqlite3.damaged-TIME
    beside the queue; the fresh database takes the queue's place.  Uses the
    sqlite3 shell's .recover when installed, else reads row by row.  A
    message whose content or recipients are incomplete is not copied (it
    would be sent truncated): it is named as lost, and stays in the damaged
    file.  Stop flushes and mail programs first: the queue must not be in use
    (exit 75 otherwise).  Exit status: 0 when every message was saved, 65
    (EX_DATAERR) when some were lost.

    \b
    Example:
        smtpq db recover
        smtpq db recover --output /tmp/salvage.sqlite3
    """
    from smtpq.queue.store.sql.recover import recover as salvage
    from smtpq.queue.store.sqlite_file import sqlite_path
    from smtpq.sender.errors import DataError, UsageError

    path = sqlite_path(database_url())
    if path is None:
        raise UsageError("smtpq db recover works on a SQLite queue file; restore a "
                         "server database (PostgreSQL) from its backups")
    report = salvage(path, output)
    for message_id, reason in sorted(report.lost.items()):
        click.echo(f"message {message_id}: lost: {reason}")
    if report.unaccounted is not None:
        first, last = report.unaccounted
        click.echo(f"messages {first}..{last}: lost: committed, then gone with the damage")
    for kept in report.kept_aside:
        click.echo(f"kept the damaged file as {kept}")
    click.echo(f"saved {len(report.saved)} messages into {report.output} (using {report.method})")
    if report.lost or report.unaccounted:
        raise DataError("some messages could not be saved (listed above)")


@db.command()
def vacuum() -> None:
    """Compact the queue database and keep it compact from then on.

    SQLite only (PostgreSQL reuses space by itself).  Rewrites the whole
    file and switches on incremental auto_vacuum, after which purging and
    pruning give disk space back without this command.  Enqueues wait
    while it runs.

    \b
    Example:
        smtpq db vacuum
    """
    from smtpq.queue.store.sql.engine import is_sqlite, make_engine
    from smtpq.queue.store.sql.space import vacuum as vacuum_database

    url = database_url()
    where = printable_url(url)
    if database_missing(url):
        click.echo(f"{where} does not exist; nothing to do")
        return
    engine = make_engine(url)
    try:
        if not is_sqlite(engine):
            click.echo(f"{where} is not SQLite: its server reclaims space; nothing to do")
            return
        freed = vacuum_database(engine)
    finally:
        engine.dispose()
    click.echo(f"compacted {where}: {counted(freed, 'byte')} given back")
