"""What the sendmail path hands to enqueue: one mail's envelope and settings, and its bytes.

Kept apart from ``smtpq.queue.records`` so the hot enqueue path creates one
dataclass, not nine (each costs about half a millisecond at import).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import BinaryIO, TypeAlias

#: A mail to store: a binary file object (read in chunks) or an iterable of byte strings.
Content: TypeAlias = "BinaryIO | Iterable[bytes]"


@dataclass(frozen=True)
class NewMessage:
    """Everything stored with a mail at enqueue time, apart from its bytes.

    ``options`` are the command-line arguments to re-apply at flush time, as a
    list of argv strings: never a shell string (no quoting to get wrong) and
    never a password (msmtp has no option carrying one; ``--passwordeval`` holds
    a command, evaluated again at flush time).
    """

    account: str
    envelope_from: str  # '' is the null sender (MAIL FROM:<>)
    recipients: tuple[str, ...]
    options: tuple[str, ...] = ()
    config_file: str | None = None  # the -C file, if one was given
    msgid: str | None = None  # Message-ID header value, kept stable across retries
    subject: str | None = None  # for listings only
