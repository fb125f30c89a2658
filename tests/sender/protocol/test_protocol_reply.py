"""Reading replies (RFC 5321 §4.2) with msmtp's limits; malformed input is a protocol error."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smtpq.sender.errors import ReplyFormatError
from smtpq.sender.protocol.reply import MAX_LINES, Reply, read_reply


def reader(data: bytes):
    stream = io.BytesIO(data)
    return lambda limit: stream.readline(limit)


def test_a_single_line_reply_keeps_its_code_and_text():
    reply = read_reply(reader(b"250 2.1.0 Ok\r\n"))
    assert reply == Reply(250, ("250 2.1.0 Ok",))
    assert reply.text == "2.1.0 Ok"
    assert reply.enhanced_status == "2.1.0"
    assert reply.is_positive and not reply.is_transient


def test_a_multi_line_reply_ends_at_the_line_with_a_space():
    reply = read_reply(reader(b"250-a\r\n250-b\r\n250 c\r\n354 next\r\n"))
    assert reply.lines == ("250-a", "250-b", "250 c")


def test_bare_lf_line_endings_are_accepted():
    assert read_reply(reader(b"220 hi\n")).lines == ("220 hi",)


def test_the_trace_sees_each_raw_line():
    seen: list[str] = []
    read_reply(reader(b"250-a\r\n250 b\r\n"), seen.append)
    assert seen == ["250-a\r\n", "250 b\r\n"]


@pytest.mark.parametrize(("data", "message"), [
    (b"", "the server sent an empty reply"),
    (b"220 no line end", "the server sent an invalid reply"),
    (b"hello there\r\n", "the server sent an invalid reply"),
    (b"25 short\r\n", "the server sent an invalid reply"),
    (b"250\r\n", "the server sent an invalid reply"),
    (b"250-a\r\n", "the server sent an invalid reply"),  # cut off mid-reply
    (b"250 " + b"A" * 1100 + b"\r\n", "the server sent an invalid reply"),
    (b"250-x\r\n" * MAX_LINES + b"250 ok\r\n",
     "Rejecting server reply that is longer than 50 lines. Increase SMTP_MAXLINES."),
])
def test_malformed_replies_get_msmtps_texts(data, message):
    with pytest.raises(ReplyFormatError) as caught:
        read_reply(reader(data))
    assert caught.value.message == message


def test_fifty_lines_are_still_accepted():
    reply = read_reply(reader(b"250-x\r\n" * (MAX_LINES - 1) + b"250 ok\r\n"))
    assert len(reply.lines) == MAX_LINES


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=3000))
def test_arbitrary_bytes_never_crash_the_reader(data):
    try:
        reply = read_reply(reader(data))
    except ReplyFormatError:
        return
    assert 0 <= reply.code <= 999 and 1 <= len(reply.lines) <= MAX_LINES
