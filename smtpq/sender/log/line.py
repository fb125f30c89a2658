"""msmtp's log line (``msmtp_get_log_info``), character for character.

    host=H tls=on|off auth=on|off [user=U] from=F recipients=R1,R2 [mailsize=N]
    [smtpstatus=NNN smtpmsg='…'] [errormsg='…'] exitcode=EX_…

* ``socket=PATH`` replaces ``host=H`` only when no host is set;
* ``user=`` only with authentication on and a user set;
* ``mailsize=`` only on success;
* ``smtpstatus``/``smtpmsg`` whenever a server reply is known, success included;
* ``errormsg=`` only on failure with a non-empty error text;
* in the quoted fields ``'`` becomes ``?``, reply lines are joined with a
  literal backslash-n, and control characters become ``?`` (``sanitize_string``).

Host, user, from and recipients are written as they are, as msmtp does.
"""

from __future__ import annotations

from smtpq.sender.record import FrozenRecord
from smtpq.sender.sysexits import ExitCode, exit_name

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (import cost)
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from smtpq.sender.config.settings import Account


class LogRecord(FrozenRecord):
    """What one delivery attempt logs (a record, not a dataclass: see smtpq.sender.record)."""

    __slots__ = ("auth", "errormsg", "exit_code", "from_", "host", "mailsize", "recipients",
                 "smtp_reply", "smtp_status", "socket", "tls", "user")
    FIELDS = ("host", "tls", "auth", "from_", "recipients", "exit_code", "socket", "user",
              "mailsize", "smtp_reply", "smtp_status", "errormsg")

    host: str | None
    tls: bool
    auth: bool  # msmtp: auth_mech is set ("auth on" or a method)
    from_: str  # the envelope-from actually used ("" for the null sender)
    recipients: Sequence[str]
    exit_code: int
    socket: str | None
    user: str | None
    mailsize: int  # bytes sent; written only on success
    smtp_reply: Sequence[str]  # last server reply, one line per item, no CRLF
    smtp_status: int | None  # default: the reply's leading number, like atoi()
    errormsg: str | None  # msmtp's error text

    def __init__(self, host: str | None, tls: bool, auth: bool, from_: str,
                 recipients: Sequence[str], exit_code: int, socket: str | None = None,
                 user: str | None = None, mailsize: int = 0, smtp_reply: Sequence[str] = (),
                 smtp_status: int | None = None, errormsg: str | None = None) -> None:
        self._freeze(host=host, tls=tls, auth=auth, from_=from_, recipients=recipients,
                     exit_code=exit_code, socket=socket, user=user, mailsize=mailsize,
                     smtp_reply=smtp_reply, smtp_status=smtp_status, errormsg=errormsg)

    @classmethod
    def for_account(cls, account: Account, recipients: Sequence[str], exit_code: int,
                    **outcome: Any) -> LogRecord:
        """The record for a delivery with *account* (its host/socket, tls, auth, user, from)."""
        return cls(host=account.host, socket=account.socket, tls=account.tls,
                   auth=account.auth is not None, user=account.user,
                   from_=account.from_ or "", recipients=tuple(recipients),
                   exit_code=exit_code, **outcome)


def format_log_line(record: LogRecord) -> str:
    """The log line without the time stamp (what syslog gets)."""
    ok = record.exit_code == ExitCode.EX_OK
    if record.host is not None:
        fields = [f"host={record.host}"]
    else:
        fields = [f"socket={record.socket or ''}"]
    fields.append("tls=on" if record.tls else "tls=off")
    fields.append("auth=on" if record.auth else "auth=off")
    if record.auth and record.user is not None:
        fields.append(f"user={record.user}")
    fields.append(f"from={record.from_}")
    # msmtp overwrites the last "," (or, with no recipient, the "=") with a blank.
    fields.append("recipients=" + ",".join(record.recipients) if record.recipients
                  else "recipients")
    if ok:
        fields.append(f"mailsize={record.mailsize}")
    if record.smtp_reply:
        status = record.smtp_status
        if status is None:
            status = _atoi(record.smtp_reply[0])
        fields.append(f"smtpstatus={status} smtpmsg='{quoted_reply(record.smtp_reply)}'")
    if not ok and record.errormsg:
        fields.append(f"errormsg='{sanitize(record.errormsg.replace(chr(39), '?'))}'")
    fields.append(f"exitcode={exit_name(record.exit_code)}")
    return " ".join(fields)


def quoted_reply(lines: Sequence[str]) -> str:
    """Reply lines as in ``smtpmsg='…'``: sanitized, ``'`` → ``?``, joined by ``\\n``."""
    return "\\n".join(sanitize(line).replace("'", "?") for line in lines)


def sanitize(text: str) -> str:
    """msmtp's ``sanitize_string``: every ``iscntrl`` character becomes ``?``.

    msmtp tests bytes in a UTF-8 or C locale, where only the ASCII controls
    (0x00–0x1F, 0x7F) count; bytes of multi-byte characters pass unchanged.
    """
    if text.isprintable():
        return text
    return "".join("?" if ord(c) < 0x20 or c == "\x7f" else c for c in text)


def _atoi(text: str) -> int:
    """C ``atoi``: optional blanks and sign, then the leading decimal digits (0 if none)."""
    text = text.lstrip(" \t\n\v\f\r")
    sign = -1 if text[:1] == "-" else 1
    if text[:1] in ("-", "+"):
        text = text[1:]
    digits = ""
    for c in text:
        if not "0" <= c <= "9":
            break
        digits += c
    return sign * int(digits) if digits else 0
