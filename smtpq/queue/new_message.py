"""What the sendmail path hands to enqueue: one mail's envelope and settings, and its bytes.

Kept apart from ``smtpq.queue.records`` so the hot enqueue path loads one small
record class and neither ``dataclasses`` nor ``typing`` (see ``smtpq.sender.record``).
"""

from __future__ import annotations

from smtpq.sender.record import FrozenRecord

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (import cost)
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import BinaryIO, TypeAlias

    #: A mail to store: a binary file object (read in chunks) or an iterable of byte strings.
    Content: TypeAlias = BinaryIO | Iterable[bytes]
else:
    Content = "BinaryIO | Iterable[bytes]"  # importable at run time; used in annotations only


class NewMessage(FrozenRecord):
    """Everything stored with a mail at enqueue time, apart from its bytes.

    ``options`` are the command-line arguments to re-apply at flush time, as a
    list of argv strings: never a shell string (no quoting to get wrong) and
    never a password (msmtp has no option carrying one; ``--passwordeval`` holds
    a command, evaluated again at flush time).  Immutable, as a frozen dataclass.
    """

    __slots__ = ("account", "config_file", "envelope_from", "msgid", "options", "recipients",
                 "subject")
    FIELDS = ("account", "envelope_from", "recipients", "options", "config_file", "msgid",
              "subject")

    account: str
    envelope_from: str  # '' is the null sender (MAIL FROM:<>)
    recipients: tuple[str, ...]
    options: tuple[str, ...]
    config_file: str | None  # the -C file, if one was given
    msgid: str | None  # Message-ID header value, kept stable across retries
    subject: str | None  # for listings only

    def __init__(self, account: str, envelope_from: str, recipients: tuple[str, ...],
                 options: tuple[str, ...] = (), config_file: str | None = None,
                 msgid: str | None = None, subject: str | None = None) -> None:
        self._freeze(account=account, envelope_from=envelope_from, recipients=recipients,
                     options=options, config_file=config_file, msgid=msgid, subject=subject)
