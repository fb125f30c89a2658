"""Who holds a message being sent, in ``list`` and ``show``; ``retry``/``purge`` of stranded mail.

A ``sending`` message names its holder (host and pid, as ``host:pid:starttime``
in ``claimed_by``) and whether that flusher still runs: on its own host this
is known (the pid exists and started when the claim says, so a reused pid
does not count); on another host it is unknown (null).  A message held by a
flusher that is gone is *stranded*: the next flush takes it back, and
``retry`` and ``purge`` act on it at once.  Only a live flusher's claim (or
another host's) is refused.
"""

from __future__ import annotations

import json
import os
import re
import subprocess

import pytest

from smtpq.queue.flush import holders
from tests.cli.cli_support import QueueBuilder, queue, smtpq  # noqa: F401 - the queue fixture

ELSEWHERE = "elsewhere.example:4242:777"


@pytest.fixture(scope="module")
def dead_holder() -> str:
    """The worker id of a process of this host that has ended."""
    process = subprocess.Popen(["sleep", "60"])
    holder = holders.worker_id(process.pid)
    process.kill()
    process.wait()
    return holder


def live_holder() -> str:
    return holders.worker_id()  # this very process


def listed(message_id: int) -> dict[str, object]:
    [entry] = [e for e in json.loads(smtpq("list", "--json").stdout) if e["id"] == message_id]
    return entry


def me() -> tuple[str, int]:
    return os.uname().nodename, os.getpid()


class TestHolders:
    def test_a_worker_id_names_host_pid_and_start_time(self):
        holder = holders.parse(holders.worker_id())
        assert holder is not None and (holder.host, holder.pid) == me()
        assert holders.alive(holder) is True

    def test_a_reused_pid_is_not_the_holder(self):
        host, pid = me()
        start = holders.start_time(pid)
        assert start is not None
        assert holders.alive(holders.Holder(host, pid, start + 1)) is False

    def test_a_holder_on_another_host_is_neither_alive_nor_dead(self):
        holder = holders.parse(ELSEWHERE)
        assert holder == holders.Holder("elsewhere.example", 4242, 777)
        assert holders.alive(holder) is None and not holders.is_dead(ELSEWHERE)

    def test_an_old_host_pid_claim_is_judged_by_the_pid(self, dead_holder: str):
        host, pid, _ = dead_holder.rsplit(":", 2)
        assert holders.is_dead(f"{host}:{pid}")
        assert not holders.is_dead(f"{me()[0]}:{os.getpid()}")
        assert holders.parse("flusher-1") is None and not holders.is_dead("flusher-1")


class TestList:
    def test_json_names_the_holder_and_whether_it_is_alive(self, queue: QueueBuilder,
                                                           dead_holder: str):
        live = queue.sending(holder=live_holder())
        dead = queue.sending(holder=dead_holder)
        remote = queue.sending(holder=ELSEWHERE)
        idle = queue.queued()
        host, pid = me()
        assert listed(live)["holder"] == {"host": host, "pid": pid, "alive": True}
        assert listed(dead)["holder"] == {"host": host, "pid": int(dead_holder.split(":")[1]),
                                          "alive": False}
        assert listed(remote)["holder"] == {"host": "elsewhere.example", "pid": 4242,
                                            "alive": None}
        assert listed(idle)["holder"] is None

    def test_the_table_shows_a_stranded_message_as_such(self, queue: QueueBuilder,
                                                        dead_holder: str):
        queue.sending(holder=dead_holder)
        queue.sending(holder=live_holder())
        text = smtpq("list").stdout
        name = ":".join(dead_holder.split(":")[:2])
        assert f"stranded: holder {name} is gone; the next flush takes it back" in text
        assert f"held by {me()[0]}:{me()[1]} (running)" in text


class TestShow:
    def test_a_stranded_message_says_so_on_its_first_line(self, queue: QueueBuilder,
                                                          dead_holder: str):
        message_id = queue.sending(holder=dead_holder)
        name = ":".join(dead_holder.split(":")[:2])
        first = smtpq("show", str(message_id)).stdout.splitlines()[0]
        assert first == (f"message {message_id}: sending, stranded: holder {name} is gone; "
                         "the next flush takes it back")

    def test_a_live_holder_is_named_with_its_claim(self, queue: QueueBuilder):
        message_id = queue.sending(holder=live_holder())
        text = smtpq("show", str(message_id)).stdout
        assert re.search(rf"holder:\s+held by {re.escape(me()[0])}:{me()[1]} \(running\), "
                         r"claim until", text)
        shown = json.loads(smtpq("show", str(message_id), "--json").stdout)
        assert shown["holder"] == {"host": me()[0], "pid": me()[1], "alive": True}


class TestRetryAndPurge:
    def test_retry_queues_a_stranded_message_due_now(self, queue: QueueBuilder,
                                                     dead_holder: str):
        message_id = queue.sending(holder=dead_holder)
        result = smtpq("retry", str(message_id))
        assert (result.exit_code, result.stdout) == (0, f"retried 1 message: {message_id}\n")
        assert listed(message_id)["status"] == "queued"

    def test_purge_deletes_a_stranded_message(self, queue: QueueBuilder, dead_holder: str):
        message_id = queue.sending(holder=dead_holder)
        result = smtpq("purge", "--yes", str(message_id))
        assert (result.exit_code, result.stdout) == (0, f"purged 1 message: {message_id}\n")
        assert json.loads(smtpq("list", "--all", "--json").stdout) == []

    def test_both_refuse_while_a_live_flusher_holds_it(self, queue: QueueBuilder):
        message_id = queue.sending(holder=live_holder())
        name = f"{me()[0]}:{me()[1]}"
        for command, verb in (("retry", "retried"), ("purge", "purged")):
            result = smtpq(command, str(message_id))
            assert result.exit_code == 75  # EX_TEMPFAIL: try again when it is done
            assert result.stderr == (f"smtpq: message {message_id} is being sent by flusher "
                                     f"{name}; not {verb}\n")
        assert listed(message_id)["status"] == "sending"

    def test_a_claim_from_another_host_is_left_to_its_lease(self, queue: QueueBuilder):
        message_id = queue.sending(holder=ELSEWHERE)
        result = smtpq("purge", str(message_id))
        assert result.exit_code == 75
        assert result.stderr == (f"smtpq: message {message_id} is being sent by flusher "
                                 "elsewhere.example:4242 on another host; not purged\n")
