"""The queue's health at a glance: ``smtpq status`` facts and ``smtpq check``'s verdict.

``read_health`` opens the configured queue (an error when it cannot be read or
was named and does not exist: never "empty"), reads ``QueueStore.health`` and
finds the mail held by dead flushers.  ``assess`` turns it into one
monitoring-plugin line and status (Nagios plugin guidelines: ``SERVICE STATUS
- text | perfdata``; exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN), usable from
Nagios, Icinga or a systemd ``OnFailure=``.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from smtpq.queue.records import FlushRun, Holder, QueueHealth
from smtpq.queue.states import MessageStatus

OK, WARNING, CRITICAL, UNKNOWN = 0, 1, 2, 3
STATUS_WORDS = ("OK", "WARNING", "CRITICAL", "UNKNOWN")
#: Statuses of mail still waiting to go out.
WAITING = (MessageStatus.QUEUED, MessageStatus.DEFERRED, MessageStatus.SENDING,
           MessageStatus.HELD)


@dataclasses.dataclass(frozen=True)
class Thresholds:
    """``smtpq check``'s limits; None: not checked."""

    warn_age: timedelta | None = timedelta(hours=1)
    crit_age: timedelta | None = timedelta(days=1)
    warn_count: int | None = None
    crit_count: int | None = None


@dataclasses.dataclass(frozen=True)
class Health:
    """``QueueHealth`` and what is derived from it at *now*."""

    facts: QueueHealth
    now: datetime
    dead: tuple[Holder, ...]

    @property
    def pending(self) -> int:
        return sum(self.facts.counts.get(status.value, 0) for status in WAITING)

    @property
    def oldest_age(self) -> timedelta | None:
        oldest = self.facts.oldest_pending
        return None if oldest is None else max(self.now - oldest, timedelta(0))


def read_health(url: str, now: datetime, *, named: bool) -> Health:
    """The health of the queue at *url* (*named*: explicitly configured, must exist)."""
    from smtpq.queue.control.manage import Queue

    with Queue(url, must_exist=named) as queue:
        facts = queue.health()
    return Health(facts, now, dead_holders(facts.sending))


def dead_holders(sending: tuple[Holder, ...]) -> tuple[Holder, ...]:
    """The messages in *sending* whose flusher ran on this host and is gone
    (``smtpq.queue.flush.holders``: pid and start time).

    A holder on another host cannot be asked; its lease (or on PostgreSQL its
    session) tells, and the next flush takes the mail back."""
    from smtpq.queue.flush import holders

    return tuple(holder for holder in sending if holders.is_dead(holder.claimed_by))


def status_json(health: Health) -> dict[str, object]:
    """``smtpq status --json``."""
    facts = health.facts
    age = health.oldest_age
    return {
        "counts": dict(facts.counts),
        "pending": health.pending,
        "oldest_pending": _iso(facts.oldest_pending),
        "oldest_pending_age": None if age is None else int(age.total_seconds()),
        "last_flush": None if facts.last_run is None else run_json(facts.last_run),
        "last_delivery": _iso(facts.last_delivery),
        "dead_holders": [{"id": h.message_id, "holder": h.claimed_by} for h in health.dead],
    }


def run_json(run: FlushRun) -> dict[str, object]:
    return {"started": _iso(run.started), "finished": _iso(run.finished),
            "host": run.host, "pid": run.pid, "exit_code": run.exit_code,
            "sent": run.sent, "deferred": run.deferred, "failed": run.failed,
            "expired": run.expired, "unreachable": run.unreachable, "note": run.note}


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def assess(health: Health, limits: Thresholds) -> tuple[int, str]:
    """``smtpq check``'s status and its one line: ``SMTPQ WORD - text | perfdata``."""
    counts = health.facts.counts
    pending, age = health.pending, health.oldest_age
    seconds = 0 if age is None else int(age.total_seconds())
    state, problems = OK, []
    for label, value, warn, crit in (
            ("oldest", seconds, _secs(limits.warn_age), _secs(limits.crit_age)),
            ("pending", pending, limits.warn_count, limits.crit_count)):
        if crit is not None and value >= crit and (label != "oldest" or age is not None):
            state = max(state, CRITICAL)
        elif warn is not None and value >= warn and (label != "oldest" or age is not None):
            state = max(state, WARNING)
    failed, expired = counts.get(MessageStatus.FAILED, 0), counts.get(MessageStatus.EXPIRED, 0)
    if failed + expired:
        state = max(state, WARNING)  # mail that will not go unless someone acts
        problems.append(f"{failed} failed, {expired} expired")
    if health.dead:
        state = max(state, WARNING)
        problems.append(f"{len(health.dead)} held by a dead flusher")
    text = f"{pending} pending" + (f", oldest {_span(age)}" if age is not None else "")
    text = ", ".join([text, *problems])
    perfdata = " ".join([
        f"pending={pending};{_opt(limits.warn_count)};{_opt(limits.crit_count)};0",
        f"oldest={seconds}s;{_opt(_secs(limits.warn_age))};{_opt(_secs(limits.crit_age))};0",
        f"failed={failed};;;0", f"expired={expired};;;0",
        f"dead={len(health.dead)};;;0"])
    return state, f"SMTPQ {STATUS_WORDS[state]} - {text} | {perfdata}"


def unknown(reason: str) -> tuple[int, str]:
    """The line when the queue cannot be read at all."""
    return UNKNOWN, f"SMTPQ UNKNOWN - {reason}"


def _secs(value: timedelta | None) -> int | None:
    return None if value is None else int(value.total_seconds())


def _opt(value: int | None) -> str:
    return "" if value is None else str(value)


def _span(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"

