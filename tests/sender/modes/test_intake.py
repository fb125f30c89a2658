"""The intake: a mail taken in once, the same way by the enqueue and by ``--send-now``.

Both consumers run in process, in one private world (``~/.msmtprc`` and a queue):
the enqueue (``smtpq.queue.enqueue.submit``) stores the mail, ``--send-now`` sends it to a
scripted server on 127.0.0.1.  Each account's ``domain`` is its name, so the EHLO
of a send names the account as the queue row does.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import pytest

from smtpq.queue.enqueue.submit import enqueue_from_stdin
from smtpq.sender.errors import ConfigError
from smtpq.sender.message import addresses, aliases  # noqa: F401 - imported before counting
from smtpq.sender.modes import intake  # noqa: F401 - imported before counting
from smtpq.sender.modes.send import run_send_now
from smtpq.sender.options import parse_args
from tests.sender.differential.harness import WireRecorder
from tests.support.queue_home import QueueHome, queue_home  # noqa: F401 - fixture

RC = """defaults
tls off
host 127.0.0.1
port {port}
account default
domain default
from default@example.org
account real
domain real
from real@example.org
"""

MAIL = (b"From: Real Sender <real@example.org>\n"
        b'To: "Doe, John" <john@example.net>\n'
        b"Cc: Friends: f1@example.net;\n"
        b"Bcc: hidden@example.net\n"
        b"Subject: once\n\nbody\n")


class Taken(NamedTuple):
    """What became of a mail: its account, envelope and the header block that left."""

    account: str
    envelope_from: str
    recipients: list[str]
    headers: bytes


class World:
    """The two consumers of the intake, each taking *mail* in with *args*."""

    def __init__(self, home: QueueHome, recorder: WireRecorder) -> None:
        self.home = home
        self.recorder = recorder

    def enqueue(self, args: list[str], mail: bytes) -> Taken:
        cmd = parse_args(args)
        assert enqueue_from_stdin(cmd, env=self.home.env, args=args, stdin=io.BytesIO(mail)) == 0
        (row,) = self.home.messages()
        stored = self.home.stored(row.id)
        return Taken(row.account, row.envelope_from, list(row.recipients),
                     stored.split(b"\n\n", 1)[0])

    def send_now(self, args: list[str], mail: bytes) -> Taken:
        cmd = parse_args(["--send-now", *args])
        out = io.StringIO()
        assert run_send_now(cmd, env=self.home.env, stdin=io.BytesIO(mail), prog="p", out=out) == 0
        record = self.recorder.connections[-1]
        (data,) = [x[1] for x in record if isinstance(x, tuple)]
        lines = [x for x in record if isinstance(x, str)]
        (ehlo,) = [line.split(" ", 1)[1] for line in lines if line.startswith("EHLO")]
        (mail_from,) = [line[len("MAIL FROM:<"):line.index(">")] for line in lines
                        if line.startswith("MAIL")]
        sent = [line[len("RCPT TO:<"):line.index(">")] for line in lines
                if line.startswith("RCPT")]
        return Taken(ehlo, mail_from, sent, data.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0])


@pytest.fixture
def world(queue_home: QueueHome, scripted_server: Any) -> World:
    recorder = WireRecorder(ehlo=("PIPELINING",))
    server = scripted_server(recorder)
    queue_home.write_msmtprc(RC.format(port=server.port))
    return World(queue_home, recorder)


#: The two ways a mail is taken in: each is called as ``path(world, args, mail)``.
paths = pytest.mark.parametrize("path", [World.enqueue, World.send_now],
                                ids=["enqueue", "send-now"])
TakeIn = Callable[[World, list[str], bytes], Taken]


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The texts given to the address parser, in order, whichever module calls it."""
    real = addresses.parse_address_list
    texts: list[str] = []

    def counting(text: str, *, what: str = "address") -> list[str]:
        texts.append(text)
        return real(text, what=what)

    holders = [m for m in list(sys.modules.values())
               if getattr(m, "parse_address_list", None) is real]
    for module in holders:
        monkeypatch.setattr(module, "parse_address_list", counting)
    yield texts
    # a module first imported now would keep the counting parser after the test
    late = [m.__name__ for m in list(sys.modules.values())
            if getattr(m, "parse_address_list", None) is counting and m not in holders]
    assert late == [], "import these modules above, before the parser is counted"


@paths
def test_every_address_of_a_mail_is_parsed_once(
        world: World, path: TakeIn, parsed: list[str]) -> None:
    path(world, ["-t", "--read-envelope-from", "cmd@example.net"], MAIL)

    assert parsed == [
        " Real Sender <real@example.org>",  # --read-envelope-from, and "has it a From?"
        "cmd@example.net",  # the command line's recipient
        ' "Doe, John" <john@example.net>',  # -t: To, Cc and Bcc
        " Friends: f1@example.net;",
        " hidden@example.net",
        "real@example.org",  # the envelope-from chosen, checked to be one address
    ]


@paths
def test_read_envelope_from_makes_the_from_address_the_envelope_and_chooses_the_account(
        world: World, path: TakeIn) -> None:
    taken = path(world, ["-t", "--read-envelope-from", "cmd@example.net"], MAIL)

    assert (taken.account, taken.envelope_from) == ("real", "real@example.org")
    assert taken.recipients == ["cmd@example.net", "john@example.net", "f1@example.net",
                                "hidden@example.net"]
    assert taken.headers.startswith(b"Date: ")  # the mail's From: kept, none added
    assert b"From: Real Sender <real@example.org>\n" in taken.headers
    assert b"hidden" not in taken.headers


@paths
def test_without_read_envelope_from_the_account_gives_the_envelope(
        world: World, path: TakeIn) -> None:
    taken = path(world, ["-t"], MAIL)

    assert (taken.account, taken.envelope_from) == ("default", "default@example.org")
    assert b"From: Real Sender <real@example.org>\n" in taken.headers


@paths
def test_read_envelope_from_without_a_from_address_leaves_the_envelope_from_missing(
        world: World, path: TakeIn) -> None:
    # msmtp stores "no address" as the command-line from: the account's from no longer counts
    with pytest.raises(ConfigError) as caught:
        path(world, ["--read-envelope-from", "x@example.net"], b"From: (nobody)\n\nbody\n")

    assert caught.value.message == (
        f"account default from {world.home.msmtprc}: envelope-from address is missing")
    assert world.home.messages() == []
    assert world.recorder.connections == []


def test_read_envelope_from_notes_the_address_under_debug_before_the_configuration(
        world: World) -> None:
    out = io.StringIO()
    cmd = parse_args(["--send-now", "-d", "--read-envelope-from", "cmd@example.net"])
    run_send_now(cmd, env=world.home.env, stdin=io.BytesIO(MAIL), prog="p", out=out)

    lines = out.getvalue().splitlines()
    assert lines[0] == "envelope from address extracted from mail: real@example.org"
    assert lines[1].startswith("ignoring system configuration file")
