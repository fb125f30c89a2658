"""Queue settings: the ``[queue]`` table of smtpq's ``config.toml``, plus the environment.

The file is ``$SMTPQ_CONFIG``, else ``$XDG_CONFIG_HOME/smtpq/config.toml``
(``~/.config`` when unset); it is optional and every key has a default.
``$SMTPQ_DATABASE`` overrides ``database``.  Bad values raise ``ConfigError``
(EX_CONFIG) naming the file and the key.

Stdlib only and cheap to import: the sendmail entry path loads these settings
for every mail it queues.  A file that keeps to plain ``key = value`` lines
(see ``smtpq.queue.simple_toml``) is read without ``tomllib``, whose import
and regular expressions cost about 5 ms; anything else goes to ``tomllib``.
"""

from __future__ import annotations

import os

from smtpq.sender.errors import ConfigError
from smtpq.sender.record import FrozenRecord

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (import cost)
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from datetime import timedelta
    from typing import Any


class AfterEnqueue:
    """What the sendmail path does once a mail is durably queued (constants, not an
    ``enum``: the enqueue path imports this; see smtpq.sender.sysexits)."""

    FLUSH = "flush"  # start a detached background flush
    NONE = "none"  # just queue; a cron job or `smtpq flush` delivers


class Bounce:
    """Who hears of mail that failed for good, expired or is delayed (``[queue] bounce``)."""

    SENDER = "sender"  # an RFC 3464 delivery status notification to the envelope sender
    NONE = "none"  # no notification mail (``notify_command`` still runs)


class QueueSettings(FrozenRecord):
    """Resolved queue settings; ``source`` is the file they came from (None: defaults only).

    Immutable and compared field by field (``source`` aside), as a frozen dataclass.
    """

    __slots__ = ("after_enqueue", "bounce", "claim_lease", "database", "delay_warning",
                 "keep_sent", "keep_sent_content", "max_age", "notify_command",
                 "parallel_connections", "retry_first", "retry_max", "source", "stage_timeout")
    FIELDS = ("database", "after_enqueue", "max_age", "retry_first", "retry_max", "keep_sent",
              "claim_lease", "parallel_connections", "stage_timeout", "bounce", "delay_warning",
              "notify_command", "keep_sent_content", "source")
    EQ_IGNORED = frozenset({"source"})

    database: str
    after_enqueue: str
    #: A message still undelivered this long after it was queued becomes "expired".
    max_age: timedelta
    #: First back-off after a temporary (4xx) failure; it doubles up to ``retry_max``.
    retry_first: timedelta
    retry_max: timedelta
    #: Sent messages stay inspectable (``smtpq show``) this long.
    keep_sent: timedelta
    #: How long a flusher's claim on a message lasts unless renewed; after it, a
    #: message left in "sending" by a killed flusher is queued again.
    claim_lease: timedelta
    #: SMTP connections a flush may open at once (per account).
    parallel_connections: int
    #: The flush's deadline for each network stage of an SMTP session (connecting:
    #: at most 30 s; the end of data: twice this), whatever the account's ``timeout``
    #: (``smtpq.sender.protocol.deadlines``).
    stage_timeout: timedelta
    #: ``Bounce.SENDER`` or ``Bounce.NONE`` (see ``smtpq.queue.notices.sweep``).
    bounce: str
    #: A message still pending this long after it was queued gets one "delayed"
    #: notice; None (the default, as Postfix's ``delay_warning_time``): never.
    delay_warning: timedelta | None
    #: Shell command run once per failed, expired or delayed message ('' = none).
    notify_command: str
    #: Keep a sent mail's content (``smtpq show --raw``) for ``keep_sent`` too; by
    #: default only its envelope and history are kept and the content is dropped
    #: (its disk space given back) as soon as it is sent.
    keep_sent_content: bool
    source: str | None

    def __init__(  # noqa: PLR0913 - one parameter per setting
        self, database: str, after_enqueue: str = AfterEnqueue.FLUSH,
        max_age: timedelta | None = None, retry_first: timedelta | None = None,
        retry_max: timedelta | None = None, keep_sent: timedelta | None = None,
        claim_lease: timedelta | None = None, parallel_connections: int = 1,
        stage_timeout: timedelta | None = None,
        bounce: str = Bounce.SENDER, delay_warning: timedelta | None = None,
        notify_command: str = "", keep_sent_content: bool = False, source: str | None = None,
    ) -> None:
        """Durations left None take their defaults (``DURATION_DEFAULTS``) when first read."""
        self._freeze(database=database, after_enqueue=after_enqueue, max_age=max_age,
                     retry_first=retry_first, retry_max=retry_max, keep_sent=keep_sent,
                     claim_lease=claim_lease, parallel_connections=parallel_connections,
                     stage_timeout=stage_timeout,
                     bounce=bounce, delay_warning=delay_warning, notify_command=notify_command,
                     keep_sent_content=keep_sent_content, source=source)

    def __getattribute__(self, name: str) -> Any:
        value = object.__getattribute__(self, name)
        if value is None and name in DURATION_DEFAULTS:
            return timedelta_of(DURATION_DEFAULTS[name])
        return value


#: The durations' defaults, in seconds.  ``QueueSettings`` makes them ``timedelta``
#: values only when they are read (by the flush): loading ``datetime`` costs an
#: enqueue, which never reads them, about 1 ms.
DURATION_DEFAULTS = {"max_age": 5 * 86400, "retry_first": 60, "retry_max": 3600,
                     "keep_sent": 7 * 86400, "claim_lease": 300, "stage_timeout": 300}


def timedelta_of(seconds: int) -> timedelta:
    """``timedelta(seconds=seconds)``, importing ``datetime`` only now (the flush)."""
    from datetime import timedelta

    return timedelta(seconds=seconds)


def config_path(environ: Mapping[str, str]) -> tuple[str, bool]:
    """The settings file to read and whether the user named it explicitly ($SMTPQ_CONFIG)."""
    explicit = environ.get("SMTPQ_CONFIG", "")
    if explicit:
        return explicit, True
    base = _xdg_dir(environ, "XDG_CONFIG_HOME", ".config")
    return os.path.join(base, "smtpq", "config.toml"), False


def default_database_url(environ: Mapping[str, str]) -> str:
    """``sqlite:///$XDG_DATA_HOME/smtpq/queue.sqlite3`` (``~/.local/share`` when unset)."""
    base = _xdg_dir(environ, "XDG_DATA_HOME", os.path.join(".local", "share"))
    return "sqlite:///" + os.path.join(base, "smtpq", "queue.sqlite3")


def load_settings(environ: Mapping[str, str] | None = None) -> QueueSettings:
    """Read the settings file (if any) and the environment into a ``QueueSettings``."""
    env = os.environ if environ is None else environ
    path, explicit = config_path(env)
    table = _read_queue_table(path, explicit)
    values = {key: _convert(path, key, raw) for key, raw in (table or {}).items()}
    values.setdefault("database", default_database_url(env))
    if env.get("SMTPQ_DATABASE"):
        values["database"] = env["SMTPQ_DATABASE"]
    settings = QueueSettings(**values, source=path if table is not None else None)
    if DURATION_DEFAULTS.keys() & values.keys():  # the defaults alone are consistent
        _check_consistency(path, settings)
    return settings


def _xdg_dir(environ: Mapping[str, str], variable: str, fallback: str) -> str:
    # The XDG Base Directory spec says relative values are invalid and must be ignored.
    value = environ.get(variable, "")
    if os.path.isabs(value):
        return value
    home = environ.get("HOME") or os.path.expanduser("~")
    return os.path.join(home, fallback)


def _read_queue_table(path: str, explicit: bool) -> dict[str, Any] | None:
    """The ``[queue]`` table of *path*; None when a default-located file is absent."""
    try:
        with open(path, "rb") as stream:
            data = stream.read()
    except FileNotFoundError:
        if explicit:
            raise ConfigError(f"{path}: cannot read queue settings: file not found") from None
        return None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read queue settings: {error.strerror}") from None
    document = _parse_toml(path, data)
    table = document.get("queue", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: queue: must be a table ([queue])")
    return table


def _parse_toml(path: str, data: bytes) -> dict[str, Any]:
    """The TOML document in *data*: the simple reader when it can, else ``tomllib``."""
    from smtpq.queue.simple_toml import parse_simple

    document = parse_simple(data)
    if document is not None:
        return document
    import tomllib  # only now: its import and regular expressions cost about 5 ms

    try:
        return tomllib.loads(data.decode())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: {error}") from None


def _convert(path: str, key: str, raw: object) -> Any:
    converter = _CONVERTERS.get(key)
    if converter is None:
        raise ConfigError(f"{path}: [queue] {key}: unknown key")
    try:
        return converter(raw)
    except ValueError as error:
        raise ConfigError(f"{path}: [queue] {key}: {error}") from None


def _check_consistency(path: str, settings: QueueSettings) -> None:
    zero = timedelta_of(0)
    problems = [
        ("retry_first", settings.retry_first <= zero, "must be longer than 0"),
        ("retry_max", settings.retry_max < settings.retry_first, "must not be shorter than retry_first"),
        ("max_age", settings.max_age <= zero, "must be longer than 0"),
        ("claim_lease", settings.claim_lease <= zero, "must be longer than 0"),
        ("stage_timeout", settings.stage_timeout <= zero, "must be longer than 0"),
    ]
    for key, bad, reason in problems:
        if bad:
            raise ConfigError(f"{path}: [queue] {key}: {reason}")


def _duration(raw: object) -> timedelta:
    if not isinstance(raw, str):
        raise ValueError('must be a string such as "5d" or "1h30m"')
    from smtpq.queue.durations import parse_duration  # its regular expressions: only now

    return parse_duration(raw)


def _after_enqueue(raw: object) -> str:
    if raw not in (AfterEnqueue.FLUSH, AfterEnqueue.NONE):
        raise ValueError('must be "flush" or "none"')
    return AfterEnqueue.FLUSH if raw == AfterEnqueue.FLUSH else AfterEnqueue.NONE


def _bounce(raw: object) -> str:
    if raw not in (Bounce.SENDER, Bounce.NONE):
        raise ValueError('must be "sender" or "none"')
    return Bounce.SENDER if raw == Bounce.SENDER else Bounce.NONE


def _optional_duration(raw: object) -> timedelta | None:
    """A duration, or None for "" (off)."""
    if raw == "":
        return None
    value = _duration(raw)
    if value <= timedelta_of(0):
        raise ValueError('must be longer than 0 (or "" for off)')
    return value


def _command(raw: object) -> str:
    if not isinstance(raw, str):
        raise ValueError("must be a string (a shell command)")
    return raw


def _positive_int(raw: object) -> int:
    # bool is an int subclass in Python; `true` is not a number of connections.
    if not isinstance(raw, int) or isinstance(raw, bool) or raw < 1:
        raise ValueError("must be a whole number of at least 1")
    return raw


def _boolean(raw: object) -> bool:
    if not isinstance(raw, bool):
        raise ValueError("must be true or false")
    return raw


def _database(raw: object) -> str:
    if not isinstance(raw, str) or "://" not in raw:
        raise ValueError('must be a database URL such as "sqlite:////path/queue.sqlite3"')
    return raw


_CONVERTERS: dict[str, Callable[[object], Any]] = {
    "database": _database,
    "after_enqueue": _after_enqueue,
    "max_age": _duration,
    "retry_first": _duration,
    "retry_max": _duration,
    "keep_sent": _duration,
    "claim_lease": _duration,
    "stage_timeout": _duration,
    "parallel_connections": _positive_int,
    "bounce": _bounce,
    "delay_warning": _optional_duration,
    "notify_command": _command,
    "keep_sent_content": _boolean,
}
