"""``smtpq show ID``: one message's envelope, recipients and history; ``--json``; ``--raw``."""

from __future__ import annotations

import hashlib
import json
import random
import re
from datetime import datetime, timedelta

from smtpq.queue.store.rows import CHUNK_SIZE
from tests.cli.cli_support import (  # noqa: F401 - the queue fixture
    SMTPQ,
    QueueBuilder,
    log_line,
    queue,
    run_program,
    smtpq,
)

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def shown(message_id: int) -> dict:
    result = smtpq("show", str(message_id), "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


class TestJson:
    def test_is_the_list_object_plus_recipient_states_and_history(self, queue: QueueBuilder):
        message_id = queue.deferred("a@example.net", "b@example.net")
        listed = json.loads(smtpq("list", "--json").stdout)[0]
        detail = shown(message_id)
        assert {key: detail[key] for key in listed} == listed
        assert isinstance(detail["recipient_states"], list)
        assert isinstance(detail["history"], list)

    def test_recipient_states_have_address_status_and_the_server_reply(self, queue: QueueBuilder):
        message_id = queue.failed("gone@example.net")
        assert shown(message_id)["recipient_states"] == [{
            "address": "gone@example.net", "status": "failed",
            "smtp_status": 550, "smtp_message": "550 5.1.1 User unknown"}]

    def test_pending_recipients_have_no_reply_yet(self, queue: QueueBuilder):
        message_id = queue.queued("a@example.net")
        assert shown(message_id)["recipient_states"] == [{
            "address": "a@example.net", "status": "pending",
            "smtp_status": None, "smtp_message": None}]

    def test_history_has_every_attempt_with_exit_code_and_msmtp_log_line(self, queue: QueueBuilder):
        message_id = queue.deferred()
        (attempt,) = shown(message_id)["history"]
        reply = "451 4.7.1 Greylisted, try again later"
        assert set(attempt) == {"started", "finished", "exit_code", "smtp_status", "smtp_message",
                                "log_line"}
        assert (attempt["exit_code"], attempt["smtp_status"], attempt["smtp_message"]) == (
            75, 451, reply)
        assert attempt["log_line"] == log_line("EX_TEMPFAIL", 451, reply)
        assert ISO_UTC.match(attempt["started"]) and ISO_UTC.match(attempt["finished"])
        started, finished = (datetime.fromisoformat(attempt[k]) for k in ("started", "finished"))
        assert finished - started == timedelta(seconds=2)

    def test_a_message_never_tried_has_an_empty_history(self, queue: QueueBuilder):
        detail = shown(queue.queued())
        assert (detail["history"], detail["attempts"], detail["exit_code"]) == ([], 0, None)


class TestText:
    def test_shows_envelope_state_recipients_and_history(self, queue: QueueBuilder):
        message_id = queue.deferred("a@example.net", "b@example.net", account="work")
        lines = smtpq("show", str(message_id)).stdout.splitlines()
        text = "\n".join(lines)
        assert lines[0] == f"message {message_id}: deferred"
        for expected in (r"from:\s+me@example.org", r"recipients:\s+a@example.net, b@example.net",
                         r"account:\s+work", r"options:\s+-t -i",
                         r"attempts:\s+1 attempt \(1 deferral\)",
                         r"last result:\s+EX_TEMPFAIL: 451 4.7.1 Greylisted",
                         r"next attempt:\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(in \d+m\)",
                         r"a@example.net\s+deferred", r"history:",
                         r"1\. .* UTC \(2s\): EX_TEMPFAIL: 451 4.7.1 Greylisted"):
            assert re.search(expected, text), (expected, text)
        assert log_line("EX_TEMPFAIL", 451, "451 4.7.1 Greylisted, try again later") in text

    def test_a_message_being_sent_names_its_flusher(self, queue: QueueBuilder):
        text = smtpq("show", str(queue.sending())).stdout
        assert re.search(r"holder:\s+held by flusher-1, claim until", text)

    def test_a_new_message_has_no_attempts_yet(self, queue: QueueBuilder):
        text = smtpq("show", str(queue.queued())).stdout
        assert "history: no delivery attempt yet" in text and "last result" not in text


class TestRaw:
    def test_prints_the_stored_mail_byte_for_byte(self, queue: QueueBuilder):
        body = b"Subject: caf\xc3\xa9\r\n\r\nbare\nLF, bare\rCR, NUL\x00, .dot\r\n.\r\n"
        result = smtpq("show", str(queue.queued(body=body)), "--raw")
        assert result.stdout_bytes == body

    def test_a_mail_of_several_chunks_comes_out_whole_from_the_real_program(
            self, queue: QueueBuilder):
        body = random.Random(5).randbytes(2 * CHUNK_SIZE + 4321)
        message_id = queue.queued(body=body)
        result = run_program(SMTPQ, "show", str(message_id), "--raw")
        assert result.returncode == 0, result.stderr
        assert hashlib.sha256(result.stdout).digest() == hashlib.sha256(body).digest()

    def test_raw_and_json_together_is_a_usage_error(self, queue: QueueBuilder):
        result = smtpq("show", str(queue.queued()), "--raw", "--json")
        assert result.exit_code == 64
        assert result.stderr.startswith("smtpq: --json and --raw cannot be used together")


class TestUnknownId:
    def test_is_a_clear_error_with_ex_noinput(self, queue: QueueBuilder):
        queue.queued()
        for extra in ((), ("--json",), ("--raw",)):
            result = smtpq("show", "999", *extra)
            assert (result.exit_code, result.stdout) == (66, "")
            assert result.stderr == "smtpq: no message with id 999 in the queue\n"

    def test_from_the_real_program_without_a_traceback(self, queue: QueueBuilder):
        queue.create()
        result = run_program(SMTPQ, "show", "999")
        assert result.returncode == 66
        assert result.stderr == b"smtpq: no message with id 999 in the queue\n"

    def test_when_there_is_no_queue_at_all(self, queue: QueueBuilder):
        assert smtpq("show", "1").exit_code == 66

    def test_an_id_that_is_not_a_number_is_a_usage_error(self, queue: QueueBuilder):
        result = smtpq("show", "abc")
        assert result.exit_code == 64 and result.stderr.startswith("smtpq: ")
