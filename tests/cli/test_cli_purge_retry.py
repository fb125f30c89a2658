"""``smtpq purge`` deletes messages (never one being sent); ``smtpq retry`` queues failed ones again."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.cli.cli_support import (  # noqa: F401 - the queue fixture
    SMTPQ,
    QueueBuilder,
    queue,
    run_in_pty,
    run_program,
    smtpq,
)


def queue_environment_of(queue: QueueBuilder) -> dict[str, str]:
    """What a real ``smtpq`` process needs to use *queue*."""
    return {"SMTPQ_DATABASE": queue.url}


def statuses() -> dict[int, str]:
    """Every message left in the queue: id → status."""
    return {m["id"]: m["status"] for m in json.loads(smtpq("list", "--all", "--json").stdout)}


@pytest.fixture
def at_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if a person typed at the terminal (CliRunner's stdin is not a tty)."""
    monkeypatch.setattr("smtpq.cli.commands.manage.stdin_is_tty", lambda: True)


class TestPurgeById:
    def test_deletes_the_messages_named_and_says_so(self, queue: QueueBuilder):
        keep, first, second = queue.queued(), queue.failed(), queue.sent()
        result = smtpq("purge", "--yes", str(first), str(second))
        assert (result.exit_code, result.stdout) == (0, f"purged 2 messages: {first}-{second}\n")
        assert statuses() == {keep: "queued"}

    def test_never_deletes_a_message_being_sent(self, queue: QueueBuilder):
        busy, idle = queue.sending(), queue.queued()
        result = smtpq("purge", "--yes", str(busy), str(idle))
        assert result.exit_code == 75  # EX_TEMPFAIL: try again when it is done
        assert result.stdout == f"purged 1 message: {idle}\n"
        assert result.stderr == f"smtpq: message {busy} is being sent; not purged\n"
        assert statuses() == {busy: "sending"}

    def test_unknown_ids_are_reported_after_the_rest_is_done(self, queue: QueueBuilder):
        message_id = queue.failed()
        result = smtpq("purge", "--yes", "998", str(message_id), "999")
        assert result.exit_code == 66
        assert result.stdout == f"purged 1 message: {message_id}\n"
        assert result.stderr == ("smtpq: no message with id 998 in the queue\n"
                                 "smtpq: no message with id 999 in the queue\n")

    def test_older_than_keeps_younger_messages_silently(self, queue: QueueBuilder):
        old, young = queue.failed(age=timedelta(days=3)), queue.failed(age=timedelta(hours=1))
        result = smtpq("purge", "--yes", str(old), str(young), "--older-than", "2d")
        assert (result.exit_code, result.stdout) == (0, f"purged 1 message: {old}\n")
        assert statuses() == {young: "failed"}


class TestPurgeByStatus:
    @pytest.fixture
    def mixed(self, queue: QueueBuilder) -> dict[str, int]:
        return {"queued": queue.queued(), "deferred": queue.deferred(), "sending": queue.sending(),
                "sent": queue.sent(), "failed": queue.failed(), "expired": queue.expired()}

    def test_failed_means_failed_and_expired(self, mixed):
        assert smtpq("purge", "--yes", "--failed").stdout == (
            f"purged 2 messages: {mixed['failed']}-{mixed['expired']}\n")
        assert set(statuses().values()) == {"queued", "deferred", "sending", "sent"}

    def test_sent(self, mixed):
        assert smtpq("purge", "--yes", "--sent").stdout == f"purged 1 message: {mixed['sent']}\n"
        assert "sent" not in statuses().values()

    def test_failed_and_sent_together(self, mixed):
        smtpq("purge", "--yes", "--failed", "--sent")
        assert set(statuses().values()) == {"queued", "deferred", "sending"}

    def test_all_deletes_everything_but_the_message_being_sent(self, mixed):
        assert smtpq("purge", "--yes", "--all").exit_code == 0
        assert statuses() == {mixed["sending"]: "sending"}

    def test_older_than_counts_from_creation(self, queue: QueueBuilder):
        old = queue.sent(age=timedelta(days=8))
        young = queue.sent(age=timedelta(days=6))
        assert smtpq("purge", "--yes", "--sent", "--older-than", "1w").stdout == f"purged 1 message: {old}\n"
        assert statuses() == {young: "sent"}

    def test_nothing_matching_is_not_an_error(self, queue: QueueBuilder):
        queue.queued()
        result = smtpq("purge", "--yes", "--failed")
        assert (result.exit_code, result.stdout) == (0, "nothing to purge\n")

    def test_a_large_purge_is_reported_as_ranges(self, queue: QueueBuilder):
        ids = [queue.sent() for _ in range(12)]
        queue.queued()
        ids.append(queue.sent())
        assert smtpq("purge", "--yes", "--sent").stdout == (
            f"purged 13 messages: {ids[0]}-{ids[11]}, {ids[12]}\n")


class TestPurgeConfirmation:
    def test_at_a_terminal_it_asks_and_yes_purges(self, queue: QueueBuilder, at_a_terminal):
        first, second = queue.failed(), queue.expired()
        result = smtpq("purge", "--failed", input="y\n")
        assert result.stderr.startswith("Purge 2 failed or expired messages? [y/N]")
        assert result.stdout == f"purged 2 messages: {first}-{second}\n"
        assert statuses() == {}

    def test_at_a_terminal_anything_but_yes_keeps_everything(self, queue: QueueBuilder,
                                                             at_a_terminal):
        message_id = queue.failed(age=timedelta(days=3))
        result = smtpq("purge", "--failed", "--older-than", "2d", input="\n")
        assert "Purge 1 failed or expired message created more than 2d ago?" in result.stderr
        assert result.exit_code == 0 and "nothing purged" in result.stderr
        assert statuses() == {message_id: "failed"}

    def test_the_question_names_the_ids(self, queue: QueueBuilder, at_a_terminal):
        message_id = queue.failed()
        result = smtpq("purge", str(message_id), input="n\n")
        assert f"Purge 1 message ({message_id})? [y/N]" in result.stderr
        assert statuses() == {message_id: "failed"}

    def test_yes_does_not_ask(self, queue: QueueBuilder, at_a_terminal):
        queue.failed()
        result = smtpq("purge", "--failed", "--yes")
        assert "Purge" not in result.stderr and result.stdout.startswith("purged 1 message")

    def test_nothing_to_purge_asks_nothing(self, queue: QueueBuilder, at_a_terminal):
        queue.create()
        result = smtpq("purge", "--sent")
        assert result.stderr == "" and result.stdout == "nothing to purge\n"

    def test_without_a_terminal_it_refuses_unless_yes(self, queue: QueueBuilder):
        kept = queue.failed()
        result = smtpq("purge", "--failed", input="y\n")  # a pipe: nobody saw a question
        assert (result.exit_code, result.stdout) == (64, "")
        assert result.stderr == ("smtpq: not purging 1 message without confirmation: "
                                 "stdin is not a terminal, add --yes\n")
        assert statuses() == {kept: "failed"}
        result = smtpq("purge", "--failed", "--yes")  # a script, a cron job
        assert "Purge" not in result.stderr and result.stdout.startswith("purged 1 message")

    def test_a_piped_no_does_not_purge(self, queue: QueueBuilder):
        kept = queue.failed()
        done = run_program(SMTPQ, "purge", "--failed", stdin=b"n\n", env=queue_environment_of(queue))
        assert done.returncode == 64
        assert b"add --yes" in done.stderr and b"Purge" not in done.stderr
        assert statuses() == {kept: "failed"}

    def test_nothing_to_purge_needs_no_yes_without_a_terminal(self, queue: QueueBuilder):
        queue.queued()
        result = smtpq("purge", "--failed")
        assert (result.exit_code, result.stdout) == (0, "nothing to purge\n")

    def test_in_a_real_terminal(self, queue: QueueBuilder):
        kept = queue.failed()
        code, screen = run_in_pty(["purge", "--failed"], answer=b"n\n")
        assert code == 0 and "Purge 1 failed or expired message? [y/N]" in screen
        assert statuses() == {kept: "failed"}
        code, screen = run_in_pty(["purge", "--failed"], answer=b"y\n")
        assert code == 0 and f"purged 1 message: {kept}" in screen
        assert statuses() == {}


class TestPurgeUsage:
    @pytest.mark.parametrize("args", [
        [],  # nothing selected
        ["1", "--failed"],  # ids or a class, not both
        ["--older-than", "2d"],  # an age alone selects nothing
        ["--failed", "--older-than", "soon"],
        ["0"],
    ])
    def test_bad_command_lines_are_usage_errors(self, queue: QueueBuilder, args):
        result = smtpq("purge", *args)
        assert result.exit_code == 64, result.output
        assert result.stderr.startswith("smtpq: ") and result.stdout == ""


class TestRetry:
    def test_puts_failed_and_expired_messages_back_to_queued(self, queue: QueueBuilder):
        failed, expired, sent = queue.failed(), queue.expired(), queue.sent()
        result = smtpq("retry", str(failed), str(expired))
        assert (result.exit_code, result.stdout) == (0, f"retried 2 messages: {failed}-{expired}\n")
        assert statuses() == {failed: "queued", expired: "queued", sent: "sent"}

    def test_a_retried_message_is_due_now_and_keeps_its_history(self, queue: QueueBuilder):
        message_id = queue.failed()
        smtpq("retry", str(message_id))
        detail = json.loads(smtpq("show", str(message_id), "--json").stdout)
        assert detail["status"] == "queued" and detail["attempts"] == 1
        assert len(detail["history"]) == 1 and detail["recipient_states"][0]["status"] == "pending"

    def test_failed_retries_every_failed_and_expired_message(self, queue: QueueBuilder):
        ids = [queue.failed(), queue.expired(), queue.failed()]
        waiting = queue.deferred()
        assert smtpq("retry", "--failed").stdout == f"retried 3 messages: {ids[0]}-{ids[2]}\n"
        assert statuses() == {**{i: "queued" for i in ids}, waiting: "deferred"}

    def test_nothing_to_retry_is_not_an_error(self, queue: QueueBuilder):
        queue.queued()
        result = smtpq("retry", "--failed")
        assert (result.exit_code, result.stdout) == (0, "nothing to retry\n")

    def test_a_message_already_sent_or_queued_is_refused_with_the_reason(self, queue: QueueBuilder):
        failed, sent, waiting = queue.failed(), queue.sent(), queue.queued()
        result = smtpq("retry", str(sent), str(failed), str(waiting))
        assert result.exit_code == 64
        assert result.stdout == f"retried 1 message: {failed}\n"
        only = "only failed, expired, deferred or held messages can be retried"
        assert result.stderr == (f"smtpq: message {sent} is sent: {only}\n"
                                 f"smtpq: message {waiting} is queued: {only}\n")
        assert statuses()[sent] == "sent"

    def test_a_message_being_sent_is_refused_as_busy(self, queue: QueueBuilder):
        busy = queue.sending()
        result = smtpq("retry", str(busy))
        assert (result.exit_code, result.stderr) == (
            75, f"smtpq: message {busy} is being sent; not retried\n")

    def test_deferred_and_held_messages_are_made_due_now(self, queue: QueueBuilder):
        deferred, held = queue.deferred(retry_in=timedelta(hours=3)), queue.queued()
        smtpq("hold", str(held))
        result = smtpq("retry", str(deferred), str(held))
        assert (result.exit_code, result.stdout) == (0, f"retried 2 messages: {deferred}-{held}\n")
        assert statuses() == {deferred: "queued", held: "queued"}
        for message_id in (deferred, held):
            detail = json.loads(smtpq("show", str(message_id), "--json").stdout)
            assert detail["next_attempt"] <= datetime.now(UTC).isoformat()

    def test_unknown_ids(self, queue: QueueBuilder):
        queue.create()
        result = smtpq("retry", "42")
        assert (result.exit_code, result.stderr) == (66, "smtpq: no message with id 42 in the queue\n")

    @pytest.mark.parametrize("args", [[], ["1", "--failed"]])
    def test_ids_or_failed_exactly_one_of_them(self, queue: QueueBuilder, args):
        result = smtpq("retry", *args)
        assert result.exit_code == 64 and result.stderr.startswith("smtpq: ")
