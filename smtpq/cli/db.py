"""``smtpq db upgrade`` / ``smtpq db current``: the queue database's Alembic revision.

Migrations also run by themselves on first use; these commands are for an
administrator who upgrades a shared (PostgreSQL) queue on purpose, or wants
to know where a database stands.  ``current`` never creates a database.
"""

from __future__ import annotations

import click

from smtpq.cli.common import database_url
from smtpq.cli.group import SmtpqGroup
from smtpq.queue.manage import database_missing, printable_url


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
    from smtpq.queue.migrate import head_revision

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
    from smtpq.queue.migrate import current_revision
    from smtpq.queue.migrate import upgrade as alembic_upgrade

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
    from smtpq.queue.migrate import current_revision

    return None if database_missing(url) else current_revision(url)


def _describe(revision: str | None, head: str) -> str:
    if revision is None:
        return "none (no queue yet; smtpq db upgrade creates it)"
    if revision == head:
        return f"{revision} (head)"
    return f"{revision} (smtpq db upgrade brings it to {head})"
