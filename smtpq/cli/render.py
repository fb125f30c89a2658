"""How queue values look on output: JSON objects (docs/interface.md) and human text.

JSON: times are ISO 8601 in UTC with a ``Z`` (``2026-03-01T12:00:00.5Z``),
sizes are bytes, exit codes are the sysexits integers.  Human text: short
ages and sizes, ``EX_…`` names, and every control character replaced, so a
hostile address or server reply cannot drive the terminal.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from smtpq.queue.flush import holders
from smtpq.queue.states import MessageStatus
from smtpq.sender.sysexits import exit_name

if TYPE_CHECKING:
    from smtpq.queue.records import AttemptRecord, MessageDetail, RecipientState
    from smtpq.queue.store.sql.listing import QueueEntry

#: Status colours on a terminal (click.style names).
STATUS_COLOURS = {
    MessageStatus.QUEUED: "cyan",
    MessageStatus.DEFERRED: "yellow",
    MessageStatus.SENDING: "blue",
    MessageStatus.SENT: "green",
    MessageStatus.FAILED: "red",
    MessageStatus.EXPIRED: "magenta",
}

# C0 and C1 controls and DEL; whitespace becomes a space, the rest "?".
_CONTROLS = {code: "?" for code in [*range(0x20), 0x7F, *range(0x80, 0xA0)]}
_CONTROLS.update({ord("\t"): " ", ord("\n"): " ", ord("\r"): " "})


# -- JSON ------------------------------------------------------------------------


def iso(value: datetime | None) -> str | None:
    """*value* as ISO 8601 UTC with ``Z``; None stays None (JSON null)."""
    if value is None:
        return None
    return value.isoformat().replace("+00:00", "Z")


def entry_json(entry: QueueEntry | MessageDetail) -> dict[str, Any]:
    """The ``smtpq list --json`` object of one message (docs/interface.md)."""
    return {
        "id": entry.id,
        "status": entry.status.value,
        "from": entry.envelope_from,
        "recipients": list(entry.recipients),
        "account": entry.account,
        "size": entry.size,
        "created": iso(entry.created),
        "attempts": entry.attempts,
        "exit_code": entry.last_exit_code,
        "next_attempt": iso(entry.next_attempt),
        "subject": entry.subject,
        "msgid": entry.msgid,
        "holder": holder_json(entry.status, entry.claimed_by, entry.holder_alive),
    }


def holder_json(status: MessageStatus, claimed_by: str | None,
                known: bool | None = None) -> dict[str, Any] | None:
    """``{host, pid, alive}`` of the flusher holding a message being sent (``alive``:
    the database's word if *known*, else null when it runs on another host); null
    for any other message."""
    holder = holders.parse(claimed_by) if status is MessageStatus.SENDING else None
    if holder is None:
        return None
    alive = known if known is not None else holders.alive(holder)
    return {"host": holder.host, "pid": holder.pid, "alive": alive}


def detail_json(detail: MessageDetail) -> dict[str, Any]:
    """The ``smtpq show --json`` object: the list object, then state and history."""
    return {
        **entry_json(detail),
        "smtp_status": detail.last_smtp_status,
        "smtp_message": detail.last_smtp_message,
        "queued": iso(detail.queued_at),
        "finished": iso(detail.finished),
        "deferrals": detail.deferrals,
        "claimed_by": detail.claimed_by,
        "claim_expires": iso(detail.claim_expires),
        "config_file": detail.config_file,
        "options": list(detail.options),
        "recipient_states": [recipient_json(state) for state in detail.recipient_states],
        "history": [attempt_json(attempt) for attempt in detail.history],
    }


def recipient_json(state: RecipientState) -> dict[str, Any]:
    return {"address": state.address, "status": state.status.value,
            "smtp_status": state.smtp_status, "smtp_message": state.smtp_message}


def attempt_json(attempt: AttemptRecord) -> dict[str, Any]:
    return {"started": iso(attempt.started), "finished": iso(attempt.finished),
            "exit_code": attempt.exit_code, "smtp_status": attempt.smtp_status,
            "smtp_message": attempt.smtp_message, "log_line": attempt.log_line}


# -- human text --------------------------------------------------------------------


def clean(text: str | None) -> str:
    """*text* safe for a terminal line: no control characters, no line breaks."""
    return "" if text is None else text.translate(_CONTROLS)


def sender(address: str) -> str:
    """The envelope sender as written in SMTP: ``<>`` for the null sender."""
    return clean(address) if address else "<>"


def human_size(size: int) -> str:
    """Bytes as ``ls -h`` shows them: ``512``, ``4.5K``, ``12M``."""
    value = float(size)
    for unit in ("", "K", "M", "G"):
        if value < 1024 or unit == "G":
            if not unit:
                return str(size)
            return f"{value:.1f}{unit}" if value < 10 else f"{value:.0f}{unit}"
        value /= 1024
    raise AssertionError("unreachable")


def span(delta: timedelta) -> str:
    """A duration in its largest whole unit: ``45s``, ``12m``, ``3h``, ``2d``."""
    seconds = max(0, int(delta.total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size * (2 if unit == "d" else 1):
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def when(value: datetime | None, now: datetime) -> str:
    """An absolute UTC time with how far it is from *now*: ``2026-03-01 12:00:00 UTC (3h ago)``."""
    if value is None:
        return "-"
    stamp = value.strftime("%Y-%m-%d %H:%M:%S UTC")
    if value <= now:
        return f"{stamp} ({span(now - value)} ago)"
    return f"{stamp} (in {span(value - now)})"


def result(exit_code: int | None, smtp_message: str | None) -> str:
    """An attempt's outcome: ``EX_TEMPFAIL: 451 4.7.1 Try again later``; ``-`` for none."""
    if exit_code is None:
        return "-"
    name = exit_name(exit_code)
    return f"{name}: {clean(smtp_message)}" if smtp_message else name


def holder_text(claimed_by: str | None, known: bool | None = None) -> str:
    """Who holds a message being sent, and whether that flusher still runs (*known*:
    the database's word, PostgreSQL's session)."""
    holder = holders.parse(claimed_by)
    if holder is None:
        return f"held by {clean(claimed_by) or 'an unknown flusher'}"
    alive = known if known is not None else holders.alive(holder)
    name = clean(holder.name)
    if alive is None:
        return f"held by {name} (another host)"
    if alive:
        return f"held by {name} (running)"
    return f"stranded: holder {name} is gone; the next flush takes it back"


def last_result(entry: QueueEntry, now: datetime) -> str:
    """The LAST RESULT cell of ``smtpq list``: the outcome, and when the next try is due
    (for a message being sent: its holder first)."""
    outcome = result(entry.last_exit_code, entry.last_smtp_message)
    if entry.status is MessageStatus.SENDING:
        holder = holder_text(entry.claimed_by, entry.holder_alive)
        return holder if outcome == "-" else f"{holder}; {outcome}"
    if entry.status is MessageStatus.DEFERRED and entry.next_attempt is not None:
        due = "retry now" if entry.next_attempt <= now else f"retry in {span(entry.next_attempt - now)}"
        return f"{due}; {outcome}"
    return outcome


def id_ranges(ids: Sequence[int]) -> str:
    """Ids compactly: ``1-3, 7, 9-10`` (a purge of 100,000 stays one short line)."""
    parts: list[str] = []
    ordered = sorted(set(ids))
    start = 0
    for index, value in enumerate(ordered):
        last = index + 1 == len(ordered)
        if last or ordered[index + 1] != value + 1:
            first = ordered[start]
            parts.append(str(first) if first == value else f"{first}-{value}")
            start = index + 1
    return ", ".join(parts)


def counted(count: int, noun: str) -> str:
    """``1 message``, ``3 messages``."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
