"""Peak memory does not grow with the mail: the body streams, headers spool.

Measured with tracemalloc over mails of tens of MiB made on the fly, so the
test itself never holds them either.
"""

from __future__ import annotations

import io
import tracemalloc
from collections.abc import Callable

from smtpq.sender.config.settings import Account
from smtpq.sender.message.compose import prepare_message
from smtpq.sender.message.headers import read_header_block
from smtpq.sender.message.recipients import collect_recipients
from smtpq.sender.message.wire import WireEncoder, data_chunks

MiB = 1024 * 1024


class GeneratedMail(io.RawIOBase):
    """A read-only stream of *size* bytes: *head* then *line* repeated."""

    def __init__(self, head: bytes, line: bytes, size: int) -> None:
        self.head = head
        self.block = line * (64 * 1024 // len(line) + 1)
        self.remaining = size
        self.offset = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self.remaining <= 0:
            return 0
        if self.head:
            data, self.head = self.head[: len(buffer)], self.head[len(buffer):]
        else:
            start = self.offset % (len(self.block) // 2)
            data = self.block[start:start + min(len(buffer), len(self.block) // 2)]
        data = data[: self.remaining]
        buffer[: len(data)] = data
        self.offset += len(data)
        self.remaining -= len(data)
        return len(data)


def peak_while(action: Callable[[], None]) -> int:
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


class NullSink(io.RawIOBase):
    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        return len(data)


def test_wire_encoding_a_large_body_uses_constant_memory() -> None:
    source = io.BufferedReader(GeneratedMail(b"", b"line\r\n.dot\rcr\n", 48 * MiB))
    encoder = WireEncoder()

    def encode() -> None:
        for _ in data_chunks(source, encoder=encoder):
            pass

    assert peak_while(encode) < 2 * MiB
    assert encoder.mailsize > 48 * MiB * 0.9


def test_preparing_and_storing_a_large_mail_uses_constant_memory() -> None:
    head = b"To: a@example.org\r\nSubject: big\r\n\r\n"
    source = io.BufferedReader(GeneratedMail(head, b"x" * 70 + b"\r\n", 48 * MiB))

    def store() -> None:
        headers = read_header_block(source)
        recipients = collect_recipients((), headers, read_recipients=True)
        message = prepare_message(source, Account(from_="me@x"), headers, recipients, now=0.0)
        message.write_to(NullSink())
        message.close()

    assert peak_while(store) < 2 * MiB


def test_a_mail_without_blank_line_spools_its_header_block() -> None:
    # all of it is "header block" (msmtp's view); it must not sit in memory
    source = io.BufferedReader(GeneratedMail(b"", b"no colon, just text\n", 12 * MiB))

    def read() -> None:
        block = read_header_block(source)
        assert block.size == 12 * MiB
        for _ in block.raw_lines():
            pass
        block.close()

    assert peak_while(read) < 4 * MiB
