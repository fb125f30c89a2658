"""Submitting one mail to the queue: sendmail's default mode (stdin), and any mail handed in.

(``-q`` and ``-bp`` are the command line's: ``smtpq.cli.flushing``, ``smtpq.cli.commands.listing``.)

``enqueue_message`` stores a mail in whatever database the settings name, as
cheaply as possible: a plain SQLite file through the stdlib path
(``enqueue.sqlite``), a PostgreSQL URL through libpq directly
(``enqueue.postgres``, when libpq is there); anything else (unusual SQLite
URLs, other drivers) through the SQLAlchemy store, imported only then.

Enqueue is the hottest path of the product: it resolves the account and the
envelope exactly as ``--send-now`` would (so a configuration error is 78 and a
mail without recipients 64, as msmtp), stamps Date and Message-ID now, and
stores the mail with the stdlib ``sqlite3`` path.  It imports neither
SQLAlchemy, Alembic, tenacity nor click.
"""

from __future__ import annotations

import os
import time

from smtpq.queue.new_message import NewMessage

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (import cost)
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from datetime import datetime
    from typing import BinaryIO

    from smtpq.queue.new_message import Content
    from smtpq.sender.message.compose import PreparedMessage
    from smtpq.sender.options import CommandLine


def enqueue_from_stdin(cmd: CommandLine, *, env: Mapping[str, str], args: Sequence[str],
                       stdin: BinaryIO) -> int:
    """Store the mail on *stdin* durably, then start a background flush if configured."""
    from smtpq.queue.settings import AfterEnqueue, load_settings

    settings = load_settings(env)
    _check_queue_files(settings.database)
    message, content = prepare_for_queue(cmd, env=env, args=args, stdin=stdin)
    with content:
        enqueue_message(settings.database, message, content.iter_bytes())
    if settings.after_enqueue == AfterEnqueue.FLUSH:
        _start_flush(settings.database, env)
    return 0


def enqueue_message(database: str, message: NewMessage, content: Content, *,
                    now: datetime | None = None) -> int:
    """Durably store *message* in the queue at *database* (a SQLAlchemy URL); its id."""
    if database.startswith("postgresql"):
        from smtpq.queue.enqueue.postgres import enqueue as enqueue_postgres

        message_id = enqueue_postgres(database, message, content, now=now)
        if message_id is not None:
            return message_id
    else:  # sqlite_file imports sqlite3 (and datetime): not for a PostgreSQL queue
        from smtpq.queue.store.sqlite_file import sqlite_path

        path = sqlite_path(database)
        if path is not None:
            from smtpq.queue.enqueue.sqlite import enqueue

            return enqueue(path, message, content, now=now)
    from smtpq.queue.store.sql.store import open_store

    with open_store(database) as store:
        return store.enqueue(message, content, now=now)


def _check_queue_files(database: str) -> None:
    """Owned, or refused, before a byte of the mail is read (``private_files``).

    Only what exists is checked here, nothing is created: a queue that cannot
    be created is reported when it is (after msmtp's configuration checks, as before).
    """
    if database.startswith("postgresql"):
        return  # no files here; and sqlite_file imports sqlite3 (and datetime)
    from smtpq.queue.store.sqlite_file import database_file_exists, sqlite_path

    path = sqlite_path(database)
    if path is not None:
        database_file_exists(path)


def _start_flush(database: str, env: Mapping[str, str]) -> None:
    """Start a background flush; failing to does not undo the enqueue, which is done."""
    from smtpq.queue.flush.trigger import start_background_flush
    from smtpq.sender.errors import SmtpqError

    try:
        start_background_flush(database, env)
    except (OSError, SmtpqError) as error:
        from smtpq.sender.sysexits import ExitCode

        # Still exit 0: the mail is stored, and a caller told otherwise would
        # send it again.  The next flush delivers it (or says loudly why not).
        if isinstance(error, SmtpqError):
            reason = error.message
        else:
            where = f"{error.filename}: " if error.filename else ""
            reason = f"{where}{error.strerror or error}"
        raise SmtpqError(f"mail queued, but cannot start a background flush: {reason}",
                         exit_code=ExitCode.EX_OK) from None


def prepare_for_queue(cmd: CommandLine, *, env: Mapping[str, str], args: Sequence[str],
                      stdin: BinaryIO, now: float | None = None
                      ) -> tuple[NewMessage, PreparedMessage]:
    """Resolve the account and rewrite the mail as msmtp would, without sending it.

    *now* (a Unix time) stamps an added ``Date:``; the present by default.
    """
    from smtpq.sender.modes.intake import keep_header, take_in

    # passwordeval is run at flush time, when the password is needed (it may
    # ask a gpg agent); msmtp would run it here only because it sends now.
    intake = take_in(cmd, env=env, stdin=stdin, run_passwordeval=False, keep=keep_header)
    account = intake.account
    prepared = intake.prepare(now=time.time() if now is None else now)
    cwd = os.getcwd()
    message = NewMessage(
        account=account.name, envelope_from=prepared.envelope_from,
        recipients=tuple(prepared.recipients), options=_options(cmd, cwd),
        config_file=None if cmd.config_file is None else os.path.join(cwd, cmd.config_file),
        msgid=_header_value(prepared, "message-id"),
        subject=_header_value(prepared, "subject"))
    return message, prepared


def _options(cmd: CommandLine, cwd: str) -> tuple[str, ...]:
    """The command line's settings to re-apply at flush time (none for a plain ``-t``)."""
    if (cmd.config_file is None and cmd.account_name is None
            and not cmd.overrides.explicit):  # canonical_argv would give []: skip its import
        return ()
    from smtpq.sender.options.canonical import canonical_argv

    return tuple(canonical_argv(cmd, cwd))


def _header_value(prepared: PreparedMessage, name: str) -> str | None:
    """A header's unfolded value from the added lines or the original block, for listings."""
    prefix = name.encode("ascii") + b":"
    for line in prepared.rewrite.added.split(b"\n"):
        if line.lower().startswith(prefix):
            return line[len(prefix):].strip().decode("utf-8", "replace")
    field = prepared.headers.get(name)
    return field.value.strip() if field is not None else None
