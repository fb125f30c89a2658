"""The queue layer's error classes, all of them, and how database failures become them.

Built on the sender's ``SmtpqError`` (every reported error carries its
sysexits code; ``smtpq.cli.boundary`` prints it).  The store's rule: a failed
write never leaves half a message behind (the transaction is rolled back), and
the caller learns why with a sysexits code a sendmail caller can act on:
EX_CANTCREAT when the database cannot be created or written at all
(permissions, read-only), EX_IOERR when the disk fails or is full, EX_TEMPFAIL
when the database stayed busy past the generous timeout.

- Reported: ``StoreError`` (``SchemaError``, ``UnsafeQueueFile``),
  ``MessageNotFound``, ``DatabaseMissing``, ``ContentDropped`` (the store);
  ``WorkerFailed``, ``FlushInterrupted`` (the flush).
- Signals inside the queue: ``PgError`` (the libpq enqueue, made a
  ``StoreError`` by its caller), ``ClaimsLost`` and ``Abandoned`` (the flush).

The enqueue path imports this module on failures only (and the PostgreSQL
one for ``PgError``): it imports nothing but the sender's errors and sysexits.
"""

from __future__ import annotations

from smtpq.sender.errors import SmtpqError
from smtpq.sender.sysexits import ExitCode

# -- the store ------------------------------------------------------------------------


class StoreError(SmtpqError):
    """The queue store cannot be written (disk full, read-only database)."""

    exit_code = ExitCode.EX_CANTCREAT


class SchemaError(StoreError):
    """The database is at an Alembic revision this smtpq does not know (a newer smtpq wrote it)."""

    exit_code = ExitCode.EX_CANTCREAT


class UnsafeQueueFile(StoreError):
    """A queue directory or file another user could read, rewrite or redirect (a foreign
    owner, a group/other-writable mode, a planted symbolic link); see ``private_files``.

    EX_CANTCREAT, like every other queue file smtpq cannot use: sysexits(3) keeps
    EX_NOPERM for permissions above the file system.
    """

    exit_code = ExitCode.EX_CANTCREAT


class MessageNotFound(SmtpqError):
    """No queued message has that id (it never existed, or was sent and pruned, or purged)."""

    exit_code = ExitCode.EX_NOINPUT

    def __init__(self, message_id: int) -> None:
        super().__init__(f"no message with id {message_id} in the queue")
        self.message_id = message_id


class DatabaseMissing(SmtpqError):
    """The queue database the user named (``SMTPQ_DATABASE``, config.toml) does not exist:
    a typo must not look like an empty queue."""

    exit_code = ExitCode.EX_NOINPUT

    def __init__(self, where: str) -> None:
        super().__init__(f"the queue database {where} does not exist "
                         "(named by $SMTPQ_DATABASE or database in config.toml)")


class ContentDropped(SmtpqError):
    """A sent message whose content was dropped when it was sent (``keep_sent_content``)."""

    exit_code = ExitCode.EX_NOINPUT

    def __init__(self, message_id: int) -> None:
        super().__init__(
            f"message {message_id} was sent and its content is not kept "
            "(keep_sent_content = false): only its envelope and history are")
        self.message_id = message_id


class PgError(Exception):
    """A libpq failure (``enqueue.libpq``): its message and SQLSTATE (None: the connection
    itself failed)."""

    def __init__(self, message: str, sqlstate: str | None = None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


# -- the flush ------------------------------------------------------------------------


class WorkerFailed(SmtpqError):
    """A worker process of the flush failed (``flush.parallel``); its own error text and
    exit code."""


class FlushInterrupted(SmtpqError):
    """The flush was stopped by a signal; what it had not started is queued again."""

    exit_code = ExitCode.EX_TEMPFAIL


class ClaimsLost(Exception):
    """Some of this flusher's claims lapsed and another flusher may have taken them
    (``flush.worker``)."""


class Abandoned(BaseException):  # noqa: N818 - not an error: a person asked for it
    """A second stop signal: leave the mail on the wire at once (``flush.stopping``).

    A ``BaseException``, so that no ``except Exception`` on the way (the
    SMTP client records failures as outcomes) mistakes it for a delivery failure.
    """


# Primary SQLite result codes (https://www.sqlite.org/rescode.html).
_SQLITE_EXIT = {
    3: ExitCode.EX_CANTCREAT,  # SQLITE_PERM
    5: ExitCode.EX_TEMPFAIL,  # SQLITE_BUSY: still locked after the busy timeout
    6: ExitCode.EX_TEMPFAIL,  # SQLITE_LOCKED
    7: ExitCode.EX_OSERR,  # SQLITE_NOMEM
    8: ExitCode.EX_CANTCREAT,  # SQLITE_READONLY
    10: ExitCode.EX_IOERR,  # SQLITE_IOERR
    11: ExitCode.EX_IOERR,  # SQLITE_CORRUPT
    13: ExitCode.EX_IOERR,  # SQLITE_FULL
    14: ExitCode.EX_CANTCREAT,  # SQLITE_CANTOPEN
    23: ExitCode.EX_CANTCREAT,  # SQLITE_AUTH
    26: ExitCode.EX_IOERR,  # SQLITE_NOTADB
}


#: SQLITE_CORRUPT and SQLITE_NOTADB: the file is damaged, not merely unavailable.
_DAMAGED = (11, 26)
#: What to do about a damaged queue (docs/reliability.md, "Corruption").
DAMAGE_ADVICE = ("the queue database is damaged: 'smtpq db check' names what is wrong, "
                 "'smtpq db recover' salvages the intact messages",)


def sqlite_error(error: Exception, where: str) -> StoreError:
    """A ``StoreError`` for a ``sqlite3.Error`` raised while writing the database at *where*."""
    code = getattr(error, "sqlite_errorcode", None)
    exit_code = ExitCode.EX_SOFTWARE if code is None else _SQLITE_EXIT.get(code & 0xFF)
    damaged = code is not None and code & 0xFF in _DAMAGED
    return StoreError(
        f"cannot write the queue database {where}: {error}",
        exit_code=exit_code or ExitCode.EX_SOFTWARE,
        details=DAMAGE_ADVICE if damaged else (),
    )


def os_error(error: OSError, where: str, *, reading: bool = False) -> StoreError:
    """A ``StoreError`` for a failure to create (or, *reading*, to look at) the
    database file or its directory."""
    import errno  # only on this failure path

    full = error.errno in (errno.ENOSPC, errno.EDQUOT, errno.EIO)
    reason = error.strerror or str(error)
    if reading and error.errno in (errno.EACCES, errno.EPERM):  # not ours to look at
        inner = f"{error.filename}: " if error.filename and error.filename != where else ""
        return StoreError(f"cannot read the queue database {where}: {inner}{reason}",
                          exit_code=ExitCode.EX_IOERR if full else ExitCode.EX_NOPERM)
    return StoreError(
        f"cannot create the queue database {error.filename or where}: {reason}",
        exit_code=ExitCode.EX_IOERR if full else ExitCode.EX_CANTCREAT,
    )


def database_error(error: Exception, where: str) -> StoreError:
    """A ``StoreError`` for a SQLAlchemy ``DBAPIError`` (SQLite or PostgreSQL)."""
    original = getattr(error, "orig", None)
    if original is not None and getattr(original, "sqlite_errorcode", None) is not None:
        return sqlite_error(original, where)
    from sqlalchemy import exc  # only SQLAlchemy paths get here

    # An OperationalError from a server database is mostly "cannot connect"
    # or "server went away": worth trying again later.
    temporary = isinstance(error, exc.OperationalError)
    return StoreError(
        f"cannot use the queue database {where}: {original or error}",
        exit_code=ExitCode.EX_TEMPFAIL if temporary else ExitCode.EX_IOERR,
    )
