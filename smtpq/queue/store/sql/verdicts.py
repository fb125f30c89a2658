"""Recording verdicts on claimed messages: the flush's hot writes, many per transaction.

The flush records an outcome for every mail it sends.  Building SQLAlchemy
statements per call cost more than the SMTP exchange itself (statement
construction and cache-key generation for every ``update()``/``insert()``), so
the statements here are built once, at import, with ``bindparam`` placeholders:
SQLAlchemy compiles each one once per engine and reuses it.  The verdicts of
a group of mails are applied in one transaction (the caller's group commit):
per-recipient results, history rows and the common "sent" transition go to the
database as one ``executemany`` each; with ``keep_sent_content = false`` the
content of the mail recorded sent is deleted in the same transaction
(``drop_content``).  Portable SQL, SQLite and PostgreSQL alike.

Lock order (PostgreSQL, see ``store.sql.store``): the ``messages`` rows of the whole
group first, in id order, then their children.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, or_, select, update

from smtpq.queue.records import AttemptRecord, RecipientResult, Transition
from smtpq.queue.states import UNDELIVERED, MessageStatus
from smtpq.queue.store.sql.models import attempts, message_chunks, messages, recipients
from smtpq.queue.store.sql.reads import batches
from smtpq.sender.delivery.outcome import RecipientStatus

M = messages.c
R = recipients.c
S = MessageStatus

#: Columns cleared whenever a message leaves "sending".
RELEASED: dict[str, Any] = {"claimed_by": None, "claim_expires": None, "claim_token": None}

_LOCK = (select(M.id).where(M.id.in_(bindparam("b_ids", expanding=True))).order_by(M.id)
         .with_for_update(key_share=True))

_RECIPIENT = update(recipients).where(
    R.message_id == bindparam("b_message"), R.position == bindparam("b_position"),
).values(status=bindparam("b_status"), smtp_status=bindparam("b_smtp_status"),
         smtp_message=bindparam("b_smtp_message"), updated=bindparam("b_updated"))

_ATTEMPT = insert(attempts).values(
    message_id=bindparam("b_message"), started=bindparam("b_started"),
    finished=bindparam("b_finished"), exit_code=bindparam("b_exit_code"),
    smtp_status=bindparam("b_smtp_status"), smtp_message=bindparam("b_smtp_message"),
    log_line=bindparam("b_log_line"))

#: The message columns an attempt changes (its counters and last result).
_COUNTED = {"attempts": M.attempts + 1, "last_exit_code": bindparam("b_exit_code"),
            "last_smtp_status": bindparam("b_smtp_status"),
            "last_smtp_message": bindparam("b_smtp_message")}

_BY_ID = M.id == bindparam("b_id")
_HELD = (M.status == S.SENDING) & (M.claimed_by == bindparam("b_holder"))
_SENDING = M.status == S.SENDING

#: What each verdict sets on the message (``b_now``/``b_next`` bound per row).
_VALUES: dict[MessageStatus, dict[str, Any]] = {
    S.SENT: {"status": S.SENT, "finished": bindparam("b_now"), "next_attempt": None, **RELEASED},
    S.DEFERRED: {"status": S.DEFERRED, "next_attempt": bindparam("b_next"),
                 "deferrals": M.deferrals + 1, **RELEASED},
    S.QUEUED: {"status": S.QUEUED, "next_attempt": bindparam("b_now"), **RELEASED},
    S.FAILED: {"status": S.FAILED, "finished": bindparam("b_now"), "next_attempt": None,
               **RELEASED},
    S.EXPIRED: {"status": S.EXPIRED, "finished": bindparam("b_now"), "next_attempt": None,
                **RELEASED},
}


def _transitions(*where: Any) -> dict[tuple[MessageStatus, bool], Any]:
    """One prebuilt UPDATE per (verdict, with an attempt or not) under *where*."""
    return {(status, counted): update(messages).where(_BY_ID, *where).values(
        **values, **(_COUNTED if counted else {})) for status, values in _VALUES.items()
        for counted in (False, True)}


#: The transition, applied whatever the state ("sent": the mail went out).
_ALWAYS = _transitions()
#: ... only while the message is being sent, by anyone (no known holder) ...
_WHILE_SENDING = _transitions(_SENDING)
#: ... only while *b_holder* holds the claim.
_WHILE_HELD = _transitions(_HELD)
#: The attempt's counters alone, when its transition did not apply.
_COUNTERS = update(messages).where(_BY_ID).values(**_COUNTED)

#: The recipients a verdict settles: still undelivered, not named in the results
#: (which name exactly the recipients the server answered for).
_SETTLED_FROM: dict[MessageStatus, tuple[RecipientStatus, ...]] = {
    S.SENT: UNDELIVERED, S.FAILED: UNDELIVERED, S.DEFERRED: (RecipientStatus.PENDING,)}
_SETTLED_TO = {S.SENT: RecipientStatus.SENT, S.FAILED: RecipientStatus.FAILED,
               S.DEFERRED: RecipientStatus.DEFERRED}
# ``or_`` rather than ``in_``: an IN list is an "expanding" parameter, which
# executemany() cannot take.
_SETTLE = {status: update(recipients).where(
    R.message_id == bindparam("b_message"), or_(*(R.status == s for s in from_states)),
).values(status=_SETTLED_TO[status], updated=bindparam("b_updated"))
    for status, from_states in _SETTLED_FROM.items()}
_SETTLE_UNNAMED = {status: statement.where(R.position.not_in(bindparam("b_named", expanding=True)))
                   for status, statement in _SETTLE.items()}

#: Drops the content of sent mail (``keep_sent_content = false``).
_DROP_CONTENT = delete(message_chunks).where(
    message_chunks.c.message_id.in_(bindparam("b_ids", expanding=True)))

#: Looks up who claimed a message through this store (None: unknown).
Holder = Callable[[int], str | None]


def lock(c: Connection, ids: Collection[int]) -> set[int]:
    """Lock the ``messages`` rows of *ids* (id order); the ids that exist."""
    return set(c.execute(_LOCK, {"b_ids": sorted(ids)}).scalars())


def record(c: Connection, items: Sequence[tuple[int, datetime, Sequence[RecipientResult],
                                              AttemptRecord | None]]) -> None:
    """Store what the servers said: per-recipient results and history rows (no transition)."""
    rows = [{"b_message": mid, "b_position": r.position, "b_status": r.status,
             "b_smtp_status": r.smtp_status, "b_smtp_message": r.smtp_message, "b_updated": now}
            for mid, now, results, _ in items for r in results]
    if rows:
        c.execute(_RECIPIENT, rows)
    history = [_attempt_row(mid, attempt) for mid, _, _, attempt in items if attempt is not None]
    if history:
        c.execute(_ATTEMPT, history)


def count_attempt(c: Connection, message_id: int, attempt: AttemptRecord) -> None:
    """Make *attempt* the message's last result and count it (no transition)."""
    c.execute(_COUNTERS, {"b_id": message_id, **_counter_params(attempt)})


def apply(c: Connection, transitions: Sequence[Transition], holder: Holder) -> list[bool]:
    """Apply *transitions* (messages that exist, each at most once) in transaction *c*.

    History and recipient results are stored whether or not a transition applies
    (a flusher that lost its claim still reports what the server said).
    """
    record(c, [(t.message_id, t.now, t.results, t.attempt) for t in transitions])
    applied = [_usual_sent(t) for t in transitions]
    batch = [_params(t) for t, fast in zip(transitions, applied, strict=True) if fast]
    if batch:  # the common case, in two statements for the whole group
        c.execute(_ALWAYS[(S.SENT, True)], batch)
        c.execute(_SETTLE[S.SENT], batch)
    for index, t in enumerate(transitions):
        if not applied[index]:
            applied[index] = _apply_one(c, t, holder(t.message_id))
    return applied


def drop_content(c: Connection, ids: Sequence[int]) -> None:
    """Delete the content of the messages *ids* (just sent, their content not kept)."""
    for batch in batches(ids):
        c.execute(_DROP_CONTENT, {"b_ids": list(batch)})


def _usual_sent(t: Transition) -> bool:
    """A "sent" verdict with an attempt whose results name no undelivered recipient."""
    return (t.status is S.SENT and t.attempt is not None
            and all(r.status not in UNDELIVERED for r in t.results))


def _apply_one(c: Connection, t: Transition, holder: str | None) -> bool:
    """One transition on its own: the claim checks, then the recipients it settles."""
    counted = t.attempt is not None
    params = _params(t) if counted else {"b_id": t.message_id, "b_now": t.now}
    if t.status is S.SENT:
        statement = _ALWAYS[(S.SENT, counted)]
    elif t.worker_id or holder:
        statement = _WHILE_HELD[(t.status, counted)]
        params["b_holder"] = t.worker_id or holder
    else:
        statement = _WHILE_SENDING[(t.status, counted)]
    if t.status is S.DEFERRED:
        params["b_next"] = t.next_attempt
    if c.execute(statement, params).rowcount != 1:
        if t.attempt is not None:
            count_attempt(c, t.message_id, t.attempt)
        return False
    if t.status in _SETTLE:
        named = [r.position for r in t.results]
        settle = _SETTLE_UNNAMED[t.status] if named else _SETTLE[t.status]
        c.execute(settle, {"b_message": t.message_id, "b_updated": t.now, "b_named": named})
    return True


def _params(t: Transition) -> dict[str, Any]:
    assert t.attempt is not None
    return {"b_id": t.message_id, "b_message": t.message_id, "b_now": t.now,
            "b_updated": t.now, **_counter_params(t.attempt)}


def _counter_params(attempt: AttemptRecord) -> dict[str, Any]:
    return {"b_exit_code": attempt.exit_code, "b_smtp_status": attempt.smtp_status,
            "b_smtp_message": attempt.smtp_message}


def _attempt_row(message_id: int, attempt: AttemptRecord) -> dict[str, Any]:
    return {"b_message": message_id, "b_started": attempt.started,
            "b_finished": attempt.finished, "b_exit_code": attempt.exit_code,
            "b_smtp_status": attempt.smtp_status, "b_smtp_message": attempt.smtp_message,
            "b_log_line": attempt.log_line}
