"""Controlling queued mail: hold, release, retry now, re-route to another account, re-send.

Through the real programs against a real server on 127.0.0.1 (``QueueHome``):

* ``smtpq hold ID…`` keeps mail back: a flush does not send it, ``list`` shows
  it ``held``; ``smtpq release ID…`` makes it due now and the next flush sends it;
* ``smtpq retry ID`` takes deferred mail too and makes it due now;
* ``smtpq retry ID… --account NAME`` and ``--all-from-account OLD --account NEW``
  re-route mail (an account renamed in ``~/.msmtprc``), refusing an account
  the configuration does not have with msmtp's message and exit 78;
* ``smtpq show N --raw --with-bcc | smtpq-sendmail -t`` reaches every original
  recipient, Bcc and command-line ones included.
"""

from __future__ import annotations

import json
import subprocess

from tests.cli.cli_support import QueueBuilder, queue, smtpq  # noqa: F401 - the queue fixture
from tests.support.aiosmtpd_server import RecordingHandler
from tests.support.queue_home import (  # noqa: F401 - fixtures
    SENDMAIL,
    SMTPQ,
    QueueHome,
    closed_port,
    queue_home,
    server_at,
)

MAIL = b"From: Me <me@example.org>\nTo: alice@example.net\nSubject: hello\n\nhi\n"


def listed(home: QueueHome) -> dict[int, str]:
    result = home.smtpq("list", "--all", "--json")
    assert result.returncode == 0, result.stderr.decode()
    return {entry["id"]: entry["status"] for entry in json.loads(result.stdout)}


def only_id(home: QueueHome) -> int:
    [message_id] = listed(home)
    return message_id


class TestHoldRelease:
    def test_held_mail_is_not_sent_until_released(self, queue_home: QueueHome, server_at):
        server = server_at()
        queue_home.account(server.port)
        queue_home.sendmail(MAIL, "-t")
        message_id = only_id(queue_home)
        held = queue_home.smtpq("hold", str(message_id))
        assert (held.returncode, held.stdout) == (0, f"held 1 message: {message_id}\n".encode())
        queue_home.flush("--now")
        assert server.messages == []
        assert listed(queue_home) == {message_id: "held"}
        assert b"held" in queue_home.smtpq("list").stdout
        released = queue_home.smtpq("release", str(message_id))
        assert (released.returncode, released.stdout) == (
            0, f"released 1 message: {message_id}\n".encode())
        queue_home.flush()
        assert [m.rcpt_tos for m in server.messages] == [["alice@example.net"]]
        assert listed(queue_home) == {message_id: "sent"}

    def test_a_message_being_sent_cannot_be_held(self, queue: QueueBuilder):
        busy = queue.sending()
        result = smtpq("hold", str(busy))
        assert (result.exit_code, result.stderr) == (
            75, f"smtpq: message {busy} is being sent; not held\n")

    def test_only_queued_and_deferred_mail_can_be_held_and_only_held_released(
            self, queue: QueueBuilder):
        sent, queued = queue.sent(), queue.queued()
        result = smtpq("hold", str(sent), str(queued))
        assert (result.exit_code, result.stdout) == (64, f"held 1 message: {queued}\n")
        assert result.stderr == (f"smtpq: message {sent} is sent: "
                                 "only queued or deferred messages can be held\n")
        result = smtpq("release", str(queued), str(sent), "999")
        assert result.exit_code == 64
        assert result.stdout == f"released 1 message: {queued}\n"
        assert result.stderr == (
            f"smtpq: message {sent} is sent: only held messages can be released\n"
            "smtpq: no message with id 999 in the queue\n")

    def test_hold_and_release_need_ids(self, queue: QueueBuilder):
        for command in ("hold", "release"):
            assert smtpq(command).exit_code == 64


class TestRetryNow:
    def test_a_deferred_mail_is_sent_by_the_next_flush_after_retry(self, queue_home: QueueHome,
                                                                   server_at):
        server = server_at(handler=RecordingHandler(
            rcpt_replies={"alice@example.net": "451 4.7.1 greylisted"}))
        queue_home.account(server.port)
        queue_home.sendmail(MAIL, "-t")
        message_id = only_id(queue_home)
        queue_home.smtpq("flush")
        assert listed(queue_home) == {message_id: "deferred"}
        server.handler.rcpt_replies.clear()
        queue_home.flush()  # still backing off: nothing due
        assert listed(queue_home) == {message_id: "deferred"}
        retried = queue_home.smtpq("retry", str(message_id))
        assert (retried.returncode, retried.stdout) == (0, f"retried 1 message: {message_id}\n".encode())
        queue_home.flush()
        assert listed(queue_home) == {message_id: "sent"}


class TestReroute:
    def renamed(self, home: QueueHome, port: int, *, old: str, new: str) -> None:
        home.write_msmtprc(f"defaults\ntimeout 10\naccount {new}\nhost 127.0.0.1\nport {port}\n"
                           "from me@example.org\naccount default : " + new + "\n")
        assert old  # mail queued for OLD now finds no such account

    def enqueue_for(self, home: QueueHome, account: str, port: int) -> int:
        home.write_msmtprc(f"defaults\ntimeout 10\naccount {account}\nhost 127.0.0.1\n"
                           f"port {port}\nfrom me@example.org\n")
        home.sendmail(MAIL, "-a", account, "-t")
        return max(listed(home))

    def test_all_mail_of_a_renamed_account_is_re_routed_and_sent(self, queue_home: QueueHome,
                                                                 server_at):
        server = server_at()
        first = self.enqueue_for(queue_home, "oldname", server.port)
        second = self.enqueue_for(queue_home, "oldname", server.port)
        self.renamed(queue_home, server.port, old="oldname", new="newname")
        queue_home.smtpq("flush")
        assert b"account oldname not found" in queue_home.smtpq("show", str(first)).stdout
        result = queue_home.smtpq("retry", "--all-from-account", "oldname", "--account", "newname")
        assert result.returncode == 0, result.stderr.decode()
        assert result.stdout == (f"re-routed through account newname and retried 2 messages: "
                                 f"{first}-{second}\n").encode()
        detail = json.loads(queue_home.smtpq("show", str(first), "--json").stdout)
        assert detail["account"] == "newname" and detail["status"] == "queued"
        queue_home.flush()
        assert listed(queue_home) == {first: "sent", second: "sent"}
        assert len(server.messages) == 2

    def test_one_message_is_re_routed_by_id(self, queue_home: QueueHome, server_at):
        old_server, new_server = server_at(), server_at()
        message_id = self.enqueue_for(queue_home, "work", closed_port())
        queue_home.write_msmtprc(
            f"defaults\ntimeout 10\naccount work\nhost 127.0.0.1\nport {old_server.port}\n"
            f"from me@example.org\naccount home\nhost 127.0.0.1\nport {new_server.port}\n"
            "from me@example.org\n")
        result = queue_home.smtpq("retry", str(message_id), "--account", "home")
        assert result.returncode == 0, result.stderr.decode()
        queue_home.flush()
        assert (len(old_server.messages), len(new_server.messages)) == (0, 1)

    def test_an_account_that_does_not_exist_is_refused_and_nothing_changes(
            self, queue_home: QueueHome):
        message_id = self.enqueue_for(queue_home, "work", closed_port())
        result = queue_home.smtpq("retry", str(message_id), "--account", "nosuch")
        assert result.returncode == 78
        assert b"account nosuch not found" in result.stderr
        assert result.stdout == b""
        detail = json.loads(queue_home.smtpq("show", str(message_id), "--json").stdout)
        assert detail["account"] == "work"

    def test_all_from_account_needs_account(self, queue: QueueBuilder):
        assert smtpq("retry", "--all-from-account", "old").exit_code == 64
        assert smtpq("retry", "--failed", "--account", "new").exit_code == 64


class TestResend:
    def test_show_raw_with_bcc_piped_to_sendmail_reaches_every_recipient(
            self, queue_home: QueueHome, server_at):
        server = server_at()
        queue_home.account(server.port)
        # Sent mail keeps its content only when configured so (re-sending a failed
        # or deferred mail needs nothing).
        queue_home.config.write_text('[queue]\nafter_enqueue = "none"\nkeep_sent_content = true\n')
        mail = (b"From: Me <me@example.org>\nTo: alice@example.net\nCc: bob@example.net\n"
                b"Bcc: hidden@example.net\nSubject: again\n\nhi\n")
        queue_home.sendmail(mail, "-t", "extra@example.net")
        original = only_id(queue_home)
        queue_home.flush()
        [first] = server.messages
        resend = subprocess.run(
            f"{SMTPQ} show {original} --raw --with-bcc | {SENDMAIL} -t",
            shell=True, env=queue_home.env, capture_output=True, timeout=60, check=False)
        assert resend.returncode == 0, resend.stderr.decode()
        queue_home.flush()
        [_, again] = server.messages
        assert sorted(again.rcpt_tos) == sorted(first.rcpt_tos) == sorted(
            ["alice@example.net", "bob@example.net", "hidden@example.net", "extra@example.net"])
        assert b"hidden@example.net" not in again.data and b"\nBcc" not in again.data

    def test_without_missing_recipients_nothing_is_added(self, queue_home: QueueHome):
        queue_home.account(closed_port())
        queue_home.sendmail(MAIL, "-t")
        message_id = only_id(queue_home)
        shown = queue_home.smtpq("show", str(message_id), "--raw", "--with-bcc")
        assert shown.stdout == queue_home.smtpq("show", str(message_id), "--raw").stdout

    def test_with_bcc_needs_raw(self, queue: QueueBuilder):
        assert smtpq("show", str(queue.queued()), "--with-bcc").exit_code == 64
