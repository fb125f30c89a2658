"""``smtpq db vacuum``: rewrite the SQLite queue compactly, with incremental auto_vacuum.

A queue created by smtpq gives the space of deleted mail back by itself
(``smtpq.queue.store.sql.space``); an older queue larger than ``CONVERT_AT_MOST`` is
converted only here, on purpose, because a ``VACUUM`` holds the write lock
(enqueues wait) for as long as rewriting the file takes.
"""

from __future__ import annotations

import click

from smtpq.cli.common import database_url
from smtpq.cli.render import counted
from smtpq.queue.control.manage import database_missing, printable_url


@click.command()
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
