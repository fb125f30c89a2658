"""Never silent: a notice for every message that failed for good, expired or is delayed.

The flusher sweeps once per turn holding its lock (``Rounds.run``, after the
verdicts are committed and old mail expired): every message owed a notice
(``QueueStore.due_notices``) gets, exactly once,

* a delivery status notification (RFC 3464, built by ``smtpq.queue.notices.dsn``)
  queued to its envelope sender like any mail, with the null envelope sender
  (MAIL FROM:<>, RFC 5321 §4.5.5 and §6.1) and the same account, ``-C`` file
  and options, so it leaves through the user's own smarthost — unless
  ``bounce = "none"`` or the envelope sender is itself empty; and
* a run of ``notify_command``, if set (``smtpq.queue.notices.hook``), even
  with ``bounce = "none"``.

A notice is never about a notice (``notice_of``): a bounce that fails or
expires is only recorded.  The marker (``bounced``/``warned``) is set in the
transaction that queues the notice, so two flushers never queue two, and a
crash between a failure and its notice only leaves it to the next sweep.
``smtpq retry`` clears the markers: a new failure gets a new notice.
"""

from __future__ import annotations

import re
import socket
import sys
from collections.abc import Callable, Mapping
from datetime import datetime
from email.utils import make_msgid

from smtpq.queue.new_message import NewMessage
from smtpq.queue.notices import dsn
from smtpq.queue.notices.hook import notify
from smtpq.queue.records import MessageDetail, RecipientState
from smtpq.queue.settings import Bounce, QueueSettings
from smtpq.queue.states import NoticeKind
from smtpq.queue.store.interface import QueueStore
from smtpq.sender.config.settings import Account
from smtpq.sender.delivery.outcome import RecipientStatus
from smtpq.sender.errors import SmtpqError

#: RET=FULL returns the whole mail up to this size; a larger one, its headers only
#: (as Postfix's ``bounce_size_limit``: a notice must not be another huge mail).
FULL_LIMIT = 10 * 1024 * 1024
#: Most bytes of header section returned (a mail's headers are rarely 10 KiB).
HEADERS_LIMIT = 256 * 1024
#: Recipients a notice is about, per kind.
_ABOUT = {NoticeKind.FAILED: (RecipientStatus.FAILED,),
          NoticeKind.EXPIRED: (RecipientStatus.FAILED, RecipientStatus.PENDING,
                               RecipientStatus.DEFERRED),
          NoticeKind.DELAYED: (RecipientStatus.PENDING, RecipientStatus.DEFERRED)}
_HOST = re.compile(r"^(?:host|socket)=(\S+)")
_ERRORMSG = re.compile(r" errormsg='([^']*)'")

Warn = Callable[[str], None]


def _stderr(line: str) -> None:
    print(f"smtpq: {line}", file=sys.stderr, flush=True)


def send_notices(store: QueueStore, settings: QueueSettings, env: Mapping[str, str],
                 now: datetime, *, warn: Warn = _stderr) -> int:
    """Queue the notices due now and run the notify hook for each; how many were queued.

    Only the store's own errors propagate (as everywhere in the flush); a message
    whose notice cannot be written is reported through *warn* and left for the
    next sweep.
    """
    since = now - settings.delay_warning if settings.delay_warning is not None else None
    queued = 0
    for due in store.due_notices(now, delayed_since=since):
        detail = store.get_message(due.message_id)
        if detail is None:
            continue  # purged meanwhile
        try:
            notice = _notice(store, settings, env, detail, due.kind, now)
        except Exception as error:  # noqa: BLE001 - a notice must never stop the queue
            # Mail already delivered stays so; the notice is tried again next flush.
            warn(f"cannot write the {due.kind} notice for message {detail.id}: {error}")
            continue
        message, content = notice if notice is not None else (None, b"")
        notice_id = store.queue_notice(due, now, message, (content,))
        if notice_id is None:
            continue  # another flusher reported it
        queued += notice_id > 0
        if settings.notify_command:
            notify(settings.notify_command, _variables(detail, due.kind), env, warn)
    return queued


def _notice(store: QueueStore, settings: QueueSettings, env: Mapping[str, str],
            detail: MessageDetail, kind: NoticeKind, now: datetime
            ) -> tuple[NewMessage, bytes] | None:
    """The notice to queue about *detail*, or None when nobody is to get one."""
    if settings.bounce != Bounce.SENDER or not detail.envelope_from:
        return None  # RFC 5321 §6.1: never a notice to the null sender
    account = _account(detail, env)
    host = socket.gethostname()  # no DNS lookup: the machine may well be offline
    report = dsn.Report(
        kind=kind, queue_id=detail.id, sender=detail.envelope_from, reporting_mta=host,
        from_address=f"MAILER-DAEMON@{(account.maildomain if account else None) or host}",
        arrival=detail.created, recipients=_recipients(detail, kind), remote_mta=_remote(detail),
        reason=_reason(detail, kind), subject=detail.subject, msgid=detail.msgid,
        waited=now - detail.queued_at,
        retry_until=detail.queued_at + settings.max_age if kind is NoticeKind.DELAYED else None)
    full = _wants_full(detail, account) and detail.size <= FULL_LIMIT
    msgid = make_msgid("smtpq-dsn", domain=host)
    content = dsn.build(report, _original(store, detail.id, full=full), full=full, now=now,
                        message_id=msgid)
    message = NewMessage(account=detail.account, envelope_from="",
                         recipients=(detail.envelope_from,), options=_options(detail.options),
                         config_file=detail.config_file, msgid=msgid,
                         subject=dsn.SUBJECTS[kind])
    return message, content


def _recipients(detail: MessageDetail, kind: NoticeKind) -> tuple[dsn.RecipientReport, ...]:
    last = detail.history[-1].finished if detail.history else None
    return tuple(
        dsn.RecipientReport(r.address, dsn.enhanced_status(_reply(detail, r), _default(kind, r)),
                            _reply(detail, r), r.updated if r.smtp_status else last)
        for r in _concerned(detail, kind))


def _concerned(detail: MessageDetail, kind: NoticeKind) -> tuple[RecipientState, ...]:
    """The recipients the notice is about; RFC 3464 §2.1 wants at least one, so all the
    undelivered ones (or all) if none is in the state the kind expects."""
    for wanted in (_ABOUT[kind], _ABOUT[NoticeKind.EXPIRED]):
        found = tuple(r for r in detail.recipient_states if r.status in wanted)
        if found:
            return found
    return detail.recipient_states


def _reply(detail: MessageDetail, recipient: RecipientState) -> str | None:
    """What the server said about *recipient*: its own reply, else the message's last."""
    if recipient.smtp_status:
        return recipient.smtp_message
    return detail.last_smtp_message if detail.last_smtp_status else None


def _default(kind: NoticeKind, recipient: RecipientState) -> str:
    # A recipient refused for good before the mail expired keeps its permanent class.
    if kind is NoticeKind.EXPIRED and recipient.status is RecipientStatus.FAILED:
        return dsn.DEFAULT_STATUS[NoticeKind.FAILED]
    return dsn.DEFAULT_STATUS[kind]


def _reason(detail: MessageDetail, kind: NoticeKind) -> str:
    """One line saying why: the server's last reply, else the local error of the last attempt."""
    if detail.last_smtp_status and detail.last_smtp_message:
        return detail.last_smtp_message
    found = _ERRORMSG.search(detail.history[-1].log_line) if detail.history else None
    if found:
        return found.group(1)
    return {NoticeKind.FAILED: "the mail could not be sent",
            NoticeKind.EXPIRED: "not delivered within max_age",
            NoticeKind.DELAYED: "not yet delivered"}[kind]


def _remote(detail: MessageDetail) -> str | None:
    """The server of the last attempt, from its msmtp log line (``host=…``)."""
    found = _HOST.match(detail.history[-1].log_line) if detail.history else None
    return found.group(1) if found else None


def _account(detail: MessageDetail, env: Mapping[str, str]) -> Account | None:
    """The message's account as the flush resolves it, without running ``passwordeval``
    (for ``maildomain`` and ``dsn_return``); None when it does not resolve now."""
    from smtpq.sender.config.choose import resolve_account
    from smtpq.sender.config.files import load_config
    from smtpq.sender.options import parse_args

    try:
        cmd = parse_args(list(detail.options), environ=env)
        config_file = detail.config_file if detail.config_file is not None else cmd.config_file
        config = None if cmd.host is not None else load_config(config_file, env=env)
        return resolve_account(config, account_name=detail.account or cmd.account_name,
                               host=cmd.host, envelope_from=detail.envelope_from,
                               overrides=cmd.overrides, env=env, sendmail=True).account
    except (SmtpqError, OSError):
        return None


def _wants_full(detail: MessageDetail, account: Account | None) -> bool:
    """Whether the sender asked for the whole mail back (RET=FULL, RFC 3461 §4.3)."""
    if account is not None:
        return account.dsn_return == "FULL"
    return "--dsn-return=full" in detail.options


def _options(options: tuple[str, ...]) -> tuple[str, ...]:
    """The original's options without DSN requests: a notice asks for no notice about
    itself (RFC 3461 §6.2)."""
    kept = tuple(o for o in options if not o.startswith(("--dsn-notify=", "--dsn-return=")))
    return (*kept, "--dsn-notify=off", "--dsn-return=off")


def _original(store: QueueStore, message_id: int, *, full: bool) -> bytes:
    """The stored mail (*full*) or its header section, up to the blank line."""
    with store.open_content(message_id) as stream:
        if full:
            return stream.read()
        head = b""
        while len(head) < HEADERS_LIMIT and (chunk := stream.read(8192)):
            head += chunk
            end = _header_end(head)
            if end >= 0:
                return head[:end]
        return head[:HEADERS_LIMIT]


def _header_end(data: bytes) -> int:
    """Where the header section of *data* ends (after its last line break), or -1."""
    if data.startswith((b"\n", b"\r\n")):
        return 0
    ends = [i + 1 for i in (data.find(b"\n\n"), data.find(b"\n\r\n")) if i >= 0]
    return min(ends) if ends else -1


def _variables(detail: MessageDetail, kind: NoticeKind) -> dict[str, str]:
    """The facts ``notify_command`` gets, as ``SMTPQ_NOTIFY_*`` variables."""
    return {"SMTPQ_NOTIFY_ID": str(detail.id), "SMTPQ_NOTIFY_STATUS": str(kind),
            "SMTPQ_NOTIFY_FROM": detail.envelope_from,
            "SMTPQ_NOTIFY_RECIPIENTS": ",".join(r.address for r in _concerned(detail, kind)),
            "SMTPQ_NOTIFY_REASON": _reason(detail, kind),
            "SMTPQ_NOTIFY_SUBJECT": detail.subject or ""}
