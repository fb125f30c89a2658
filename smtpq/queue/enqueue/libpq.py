"""A minimal binding of PostgreSQL's own client library (libpq) for the enqueue fast path.

``import psycopg`` costs about 150 ms of CPU (it imports asyncio, logging,
typing, pathlib …), seven times a whole SQLite enqueue; ``ctypes`` and libpq
cost about 3 ms (docs/performance.md, "Fleet enqueue").  So the one-mail
enqueue into PostgreSQL talks to libpq directly, through the few functions of
its stable C API it needs (connect, one parameterised statement at a time,
read a value, SQLSTATE of an error); everything else keeps using psycopg
through SQLAlchemy.  The library is the system's ``libpq.so.5`` or, when there
is none, the copy that psycopg's binary wheel ships (``psycopg_binary.libs``);
``load`` returns None when neither exists, and the caller takes the psycopg path.

Parameters travel as text, bytea as binary (no escaping, no copy of the mail's
bytes), all of them typed by the server from the statement.
"""

from __future__ import annotations

import ctypes
import os
import sys

from smtpq.queue.errors import PgError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (import cost)
if TYPE_CHECKING:
    from collections.abc import Sequence

#: The shared library's names, most usual first.
NAMES = ("libpq.so.5", "libpq.5.dylib", "libpq.so", "libpq.dylib")
#: ConnStatusType CONNECTION_OK, ExecStatusType PGRES_COMMAND_OK / PGRES_TUPLES_OK.
CONNECTION_OK = 0
RESULT_OK = (1, 2)
#: PG_DIAG_SQLSTATE, the field code of an error's SQLSTATE.
PG_DIAG_SQLSTATE = ord("C")

_library = None


def load() -> object | None:
    """libpq with the signatures set, or None when it is nowhere to be found (cached)."""
    global _library
    if _library is None:
        lib = _open()
        if lib is None:
            return None
        _declare(lib)
        _library = lib
    return _library


def _open() -> ctypes.CDLL | None:
    for name in NAMES + _wheel_copies():
        try:
            return ctypes.CDLL(name)
        except OSError:
            continue
    return None


def _wheel_copies() -> tuple[str, ...]:
    """libpq as psycopg's binary wheel installs it (``site-packages/psycopg_binary.libs``)."""
    found: list[str] = []
    for entry in sys.path:
        folder = os.path.join(entry or ".", "psycopg_binary.libs")
        if os.path.isdir(folder):
            found.extend(os.path.join(folder, name) for name in sorted(os.listdir(folder))
                         if name.startswith("libpq"))
    return tuple(found)


def _declare(lib: ctypes.CDLL) -> None:
    p, s, i = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int
    signatures = {
        "PQconnectdbParams": (p, [ctypes.POINTER(s), ctypes.POINTER(s), i]),
        "PQstatus": (i, [p]),
        "PQerrorMessage": (s, [p]),
        "PQfinish": (None, [p]),
        "PQexecParams": (p, [p, s, i, p, ctypes.POINTER(s), ctypes.POINTER(i),
                             ctypes.POINTER(i), i]),
        "PQresultStatus": (i, [p]),
        "PQresultErrorMessage": (s, [p]),
        "PQresultErrorField": (s, [p, i]),
        "PQntuples": (i, [p]),
        "PQgetisnull": (i, [p, i, i]),
        "PQgetvalue": (s, [p, i, i]),
        "PQclear": (None, [p]),
        "PQconninfoParse": (p, [s, ctypes.POINTER(p)]),
        "PQconninfoFree": (None, [p]),
        "PQfreemem": (None, [p]),
    }
    for name, (restype, argtypes) in signatures.items():
        function = getattr(lib, name)
        function.restype, function.argtypes = restype, argtypes


def parses(lib, conninfo: str) -> bool:  # noqa: ANN001 - the CDLL of load()
    """Whether libpq understands *conninfo* (a URI or key=value string)."""
    error = ctypes.c_void_p()
    options = lib.PQconninfoParse(conninfo.encode(), ctypes.byref(error))
    if error.value:
        lib.PQfreemem(error)
    if not options:
        return False
    lib.PQconninfoFree(options)
    return True


class Connection:
    """One libpq connection; ``execute`` runs one statement (raises ``PgError``)."""

    def __init__(self, lib, conninfo: str, settings: dict[str, str]) -> None:  # noqa: ANN001
        # Keywords after "dbname" (expanded from the URI) override what it says.
        keys = [b"dbname", *(k.encode() for k in settings), None]
        values = [conninfo.encode(), *(v.encode() for v in settings.values()), None]
        self.lib = lib
        self.conn = lib.PQconnectdbParams((ctypes.c_char_p * len(keys))(*keys),
                                          (ctypes.c_char_p * len(values))(*values), 1)
        if not self.conn:
            raise PgError("out of memory")
        if lib.PQstatus(self.conn) != CONNECTION_OK:
            message = _text(lib.PQerrorMessage(self.conn))
            self.close()
            raise PgError(message)

    def execute(self, sql: str, params: Sequence[object] = ()) -> list[str | None]:
        """Run *sql* with *params* ($1 …: str, int, bytes or None); the first column."""
        count = len(params)
        values = (ctypes.c_char_p * count)()
        lengths = (ctypes.c_int * count)()
        formats = (ctypes.c_int * count)()
        for index, value in enumerate(params):
            if isinstance(value, bytes):  # bytea, sent as it is
                values[index], lengths[index], formats[index] = value, len(value), 1
            elif value is not None:
                values[index] = str(value).encode()
        result = self.lib.PQexecParams(self.conn, sql.encode(), count, None, values, lengths,
                                       formats, 0)
        try:
            if self.lib.PQresultStatus(result) not in RESULT_OK:
                raise self._error(result)
            return [None if self.lib.PQgetisnull(result, row, 0)
                    else _text(self.lib.PQgetvalue(result, row, 0))
                    for row in range(self.lib.PQntuples(result))]
        finally:
            self.lib.PQclear(result)

    def _error(self, result: int | None) -> PgError:
        if not result:  # no result at all: out of memory, or the connection is gone
            return PgError(_text(self.lib.PQerrorMessage(self.conn)), "08000")
        state = self.lib.PQresultErrorField(result, PG_DIAG_SQLSTATE)
        return PgError(_text(self.lib.PQresultErrorMessage(result)),
                       state.decode() if state else None)

    def close(self) -> None:
        if self.conn:
            self.lib.PQfinish(self.conn)
            self.conn = None


def _text(value: bytes | None) -> str:
    return (value or b"").decode("utf-8", "replace").strip()
