"""``smtpq list`` (and ``mailq``): what is waiting, as an aligned table or as JSON (docs/interface.md)."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, event

from smtpq.cli.commands.listing import print_queue
from tests.cli.cli_support import (  # noqa: F401 - the queue fixture
    SMTPQ,
    QueueBuilder,
    queue,
    run_in_pty,
    run_program,
    smtpq,
)

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
SPEC_FIELDS = {"id", "status", "from", "recipients", "account", "size", "created", "attempts",
               "exit_code", "next_attempt"}


def listed(*args: str) -> list[dict]:
    result = smtpq("list", "--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture
def one_of_each(queue: QueueBuilder) -> dict[str, int]:
    """A queue holding a message in every status."""
    return {
        "queued": queue.queued("a@example.net"),
        "deferred": queue.deferred("b@example.net", "c@example.net"),
        "sending": queue.sending("d@example.net"),
        "sent": queue.sent("e@example.net"),
        "failed": queue.failed("f@example.net"),
        "expired": queue.expired("g@example.net"),
    }


class TestJson:
    def test_lists_every_pending_message_oldest_first_and_not_the_sent_one(self, one_of_each):
        statuses = [message["status"] for message in listed()]
        assert statuses == ["queued", "deferred", "sending", "failed", "expired"]

    def test_all_adds_sent_messages(self, one_of_each):
        assert {message["status"] for message in listed("--all")} == set(one_of_each)

    def test_status_selects_exactly_the_statuses_named(self, one_of_each):
        messages = listed("--status", "failed", "--status", "sent")
        assert [m["id"] for m in messages] == [one_of_each["sent"], one_of_each["failed"]]

    def test_each_message_has_the_spec_fields_with_their_types(self, queue: QueueBuilder):
        body = b"Subject: x\r\n\r\n" + b"y" * 1000
        message_id = queue.queued("a@example.net", "b@example.net", account="work", body=body)
        (message,) = listed()
        assert set(message) >= SPEC_FIELDS
        assert message["id"] == message_id
        assert message["status"] == "queued"
        assert message["from"] == "me@example.org"
        assert message["recipients"] == ["a@example.net", "b@example.net"]
        assert message["account"] == "work"
        assert message["size"] == len(body)
        assert message["attempts"] == 0
        assert message["exit_code"] is None
        assert ISO_UTC.match(message["created"]) and ISO_UTC.match(message["next_attempt"])

    def test_created_is_the_enqueue_time_in_utc(self, queue: QueueBuilder):
        queue.queued(age=timedelta(hours=2))
        created = datetime.fromisoformat(listed()[0]["created"])
        assert created == queue.now - timedelta(hours=2)

    def test_a_deferred_message_shows_its_last_exit_code_attempts_and_next_attempt(
            self, queue: QueueBuilder):
        queue.deferred(retry_in=timedelta(minutes=10))
        (message,) = listed()
        assert (message["status"], message["attempts"], message["exit_code"]) == ("deferred", 1, 75)
        assert datetime.fromisoformat(message["next_attempt"]) == queue.now + timedelta(minutes=10)

    def test_final_messages_have_no_next_attempt(self, one_of_each):
        final = [m for m in listed("--all") if m["status"] in ("sent", "failed", "expired")]
        assert [m["next_attempt"] for m in final] == [None, None, None]
        assert [m["exit_code"] for m in final] == [0, 69, 75]

    def test_the_null_sender_is_an_empty_from(self, queue: QueueBuilder):
        queue.queued(sender="")
        assert listed()[0]["from"] == ""

    def test_an_empty_queue_is_an_empty_array(self, queue: QueueBuilder):
        queue.create()
        assert smtpq("list", "--json").stdout == "[]\n"

    def test_one_message_per_line_even_across_pages(self, queue: QueueBuilder, monkeypatch):
        monkeypatch.setattr("smtpq.queue.control.manage.PAGE", 2)
        for n in range(5):
            queue.queued(f"r{n}@example.net", subject='tricky ", {"id": 1} subject')
        lines = smtpq("list", "--json").stdout.splitlines()
        assert lines[0] == "[" and lines[-1] == "]" and len(lines) == 7
        assert [json.loads(line.rstrip(","))["recipients"] for line in lines[1:-1]] == [
            [f"r{n}@example.net"] for n in range(5)]


class TestTable:
    def test_an_empty_queue_says_so_in_one_line(self, queue: QueueBuilder):
        queue.create()
        result = smtpq("list")
        assert (result.exit_code, result.stdout) == (0, "queue is empty\n")

    def test_a_filter_that_matches_nothing_says_so(self, queue: QueueBuilder):
        queue.queued()
        assert smtpq("list", "--status", "failed").stdout == "no matching messages\n"

    def test_has_a_header_and_one_aligned_row_per_message(self, one_of_each):
        lines = smtpq("list").stdout.splitlines()
        assert lines[0].split() == ["ID", "AGE", "STATUS", "FROM", "RECIPIENTS", "SIZE", "LAST",
                                    "RESULT"]
        assert len(lines) == 1 + 5
        status_at = lines[0].index("STATUS")
        from_at = lines[0].index("FROM")
        for line, status in zip(lines[1:], ["queued", "deferred", "sending", "failed", "expired"],
                                strict=True):
            assert line[status_at:].startswith(status)
            assert line[from_at:].startswith("me@example.org")

    def test_ids_and_sizes_are_right_aligned(self, queue: QueueBuilder):
        for n in range(10):
            queue.queued(body=b"x" * (10 ** (n % 4)))
        header, *rows = smtpq("list").stdout.splitlines()
        id_end = header.index("ID") + len("ID")
        size_end = header.index("SIZE") + len("SIZE")
        for row in rows:
            assert row[:id_end].strip().isdigit() and row[id_end] == " ", row
            assert row[:size_end].split()[-1].isdigit() and row[size_end] == " ", row
        assert rows[-1].startswith("10") and rows[0].startswith(" 1")

    def test_shows_age_sender_recipients_size_and_last_result(self, queue: QueueBuilder):
        queue.deferred("a@example.net", "b@example.net", age=timedelta(hours=3),
                       retry_in=timedelta(minutes=5))
        row = smtpq("list").stdout.splitlines()[1]
        assert re.search(r"\b3h\s+deferred\s+me@example.org\s+a@example.net, b@example.net\s+\d+\s+"
                         r"retry in [45]m; EX_TEMPFAIL: 451 4.7.1 Greylisted", row), row

    def test_the_null_sender_shows_as_angle_brackets(self, queue: QueueBuilder):
        queue.queued(sender="")
        assert " <> " in smtpq("list").stdout.splitlines()[1]

    def test_lines_fit_the_terminal_width_and_cut_text_with_an_ellipsis(self, queue: QueueBuilder):
        queue.failed(*[f"recipient{n}@a-rather-long-domain.example" for n in range(6)])
        result = smtpq("list", env={"COLUMNS": "72"})
        lines = result.stdout.splitlines()
        assert all(len(line) <= 72 for line in lines), lines
        assert "…" in lines[1]
        assert lines[1].split()[:3] == ["1", "1h", "failed"]  # fixed columns are never cut

    def test_in_a_pipe_without_columns_lines_are_not_cut(self, queue: QueueBuilder):
        recipients = [f"recipient{n}@a-rather-long-domain.example" for n in range(6)]
        queue.queued(*recipients)
        assert ", ".join(recipients) in smtpq("list").stdout

    def test_no_colour_when_stdout_is_not_a_terminal(self, one_of_each):
        assert "\x1b[" not in smtpq("list").stdout

    def test_control_characters_from_the_envelope_never_reach_the_terminal(self, queue):
        queue.queued("evil\x1b]0;pwned\x07@example.net")
        output = smtpq("list").stdout
        assert "\x1b" not in output and "\x07" not in output and "evil?]0;pwned?@" in output

    def test_on_a_terminal_the_status_is_coloured(self, one_of_each):
        code, shown = run_in_pty(["list"])
        assert code == 0
        assert "\x1b[31mfailed\x1b[0m" in shown  # red
        assert "\x1b[33mdeferred\x1b[0m" in shown  # yellow

    def test_no_colour_on_a_terminal_either_when_no_color_is_set(self, one_of_each):
        code, shown = run_in_pty(["list"], env={"NO_COLOR": "1"})
        assert code == 0 and "failed" in shown and "\x1b[3" not in shown


class TestScale:
    """Listing cost grows with pages, never with messages (SPEC: 100,000 in ≤ 2 s).

    The timing itself is a benchmark, not a test; what a test can pin down is
    the number of SQL statements.
    """

    @staticmethod
    def statements_for_listing(*args: str) -> list[str]:
        seen: list[str] = []

        def record(_conn, _cursor, statement, *_rest) -> None:
            seen.append(statement)

        event.listen(Engine, "before_cursor_execute", record)
        try:
            assert smtpq("list", *args).exit_code == 0
        finally:
            event.remove(Engine, "before_cursor_execute", record)
        return seen

    def test_the_number_of_statements_does_not_depend_on_the_number_of_messages(
            self, queue: QueueBuilder):
        for _ in range(3):
            queue.deferred("a@example.net", "b@example.net")
        few = self.statements_for_listing("--json")
        for _ in range(60):
            queue.deferred("a@example.net", "b@example.net")
        many = self.statements_for_listing("--json")
        assert len(many) == len(few)
        assert len(self.statements_for_listing()) == len(few)  # the table reads the same way

    def test_recipients_are_read_once_per_page(self, queue: QueueBuilder, monkeypatch):
        monkeypatch.setattr("smtpq.queue.control.manage.PAGE", 10)
        for _ in range(45):
            queue.queued("a@example.net", "b@example.net")
        statements = self.statements_for_listing("--json")
        assert sum("FROM recipients" in s for s in statements) == 5
        assert len(json.loads(smtpq("list", "--json").stdout)) == 45


class TestWithoutADatabase:
    def test_no_queue_yet_at_the_default_location_is_empty_and_is_not_created(
            self, queue: QueueBuilder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
        monkeypatch.delenv("SMTPQ_DATABASE")
        path = tmp_path / "data" / "smtpq" / "queue.sqlite3"  # $XDG_DATA_HOME's
        assert smtpq("list").stdout == "queue is empty\n"
        assert smtpq("list", "--json").stdout == "[]\n"
        assert not path.exists() and not path.parent.exists()


class TestMailq:
    @pytest.fixture
    def mailq(self, tmp_path: Path) -> Iterator[Path]:
        link = tmp_path / "bin" / "mailq"
        link.parent.mkdir()
        link.symlink_to(SMTPQ)
        yield link

    def test_mailq_lists_the_queue_like_smtpq_list(self, one_of_each, mailq: Path):
        by_mailq = run_program(mailq)
        by_smtpq = run_program(SMTPQ, "list")
        assert by_mailq.returncode == 0, by_mailq.stderr
        assert _without_ages(by_mailq.stdout) == _without_ages(by_smtpq.stdout)
        assert b"deferred" in by_mailq.stdout

    def test_mailq_takes_the_list_options(self, one_of_each, mailq: Path):
        result = run_program(mailq, "--json", "--status", "sent")
        assert [m["status"] for m in json.loads(result.stdout)] == ["sent"]

    def test_mailq_errors_name_mailq(self, mailq: Path):
        result = run_program(mailq, "--bogus")
        assert result.returncode == 64
        assert result.stderr.startswith(b"mailq: No such option") and b"--bogus" in result.stderr

    def test_mailq_on_an_empty_queue_says_so_as_sendmail_and_postfix_do(
            self, queue: QueueBuilder, mailq: Path):
        queue.create()
        result = run_program(mailq)
        assert (result.returncode, result.stdout) == (0, b"Mail queue is empty\n")

    def test_print_queue_is_what_sendmail_bp_prints(self, one_of_each, capsys):
        assert print_queue(os.environ) == 0
        lines = capsys.readouterr().out.splitlines()
        assert lines[0].startswith("ID") and len(lines) == 6


def _without_ages(output: bytes) -> list[list[bytes]]:
    """Rows without the AGE column (a second may pass between two runs)."""
    return [line.split()[:1] + line.split()[2:] for line in output.splitlines()]
