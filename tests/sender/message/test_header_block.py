"""Reading the header block: where it ends, what it keeps, what it drops.

The header block is everything before the first empty line, as msmtp sees it;
every CR in it is dropped (msmtp's ``msmtp_read_headers`` skips them), and the
body stays unread in the stream.
"""

from __future__ import annotations

import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smtpq.sender.message import headers as headers_module
from smtpq.sender.message.headers import HeaderBlock, field_name, read_header_block


def read(data: bytes, **kwargs: object) -> tuple[HeaderBlock, bytes]:
    stream = io.BytesIO(data)
    block = read_header_block(stream, **kwargs)  # type: ignore[arg-type]
    return block, stream.read()


def raw(block: HeaderBlock) -> bytes:
    return b"".join(block.raw_lines())


# -- where the block ends --------------------------------------------------------------

def test_the_first_empty_line_ends_the_block_and_the_body_stays_in_the_stream() -> None:
    block, body = read(b"Subject: s\nTo: a@x\n\nbody\n\nmore\n")
    assert raw(block) == b"Subject: s\nTo: a@x\n"
    assert block.separator == b"\n"
    assert body == b"body\n\nmore\n"


def test_crlf_blank_line_ends_the_block_too() -> None:
    block, body = read(b"Subject: s\r\n\r\nbody\r\n")
    assert raw(block) == b"Subject: s\n"
    assert body == b"body\r\n"  # the body is untouched


def test_a_mail_without_blank_line_is_all_header_block() -> None:
    block, body = read(b"Subject: s\nno blank line")
    assert raw(block) == b"Subject: s\nno blank line"
    assert block.separator == b""
    assert body == b""


def test_body_text_first_is_part_of_the_header_block_as_in_msmtp() -> None:
    block, body = read(b"hello world\nsecond line\n\nafter\n")
    assert raw(block) == b"hello world\nsecond line\n"
    assert block.fields == []  # no field names there
    assert body == b"after\n"


def test_a_leading_empty_line_means_an_empty_header_block() -> None:
    block, body = read(b"\nbody\n")
    assert raw(block) == b"" and block.separator == b"\n"
    assert body == b"body\n"


def test_empty_input() -> None:
    block, body = read(b"")
    assert raw(block) == b"" and block.separator == b"" and body == b""


def test_a_whitespace_only_line_does_not_end_the_block() -> None:
    block, body = read(b"A: 1\n \nB: 2\n\nbody")
    assert raw(block) == b"A: 1\n \nB: 2\n"
    assert body == b"body"


# -- CRs -------------------------------------------------------------------------------

def test_every_cr_in_the_header_block_is_dropped_like_msmtp() -> None:
    block, body = read(b"Subject: a\rb\r\nX: y\r\r\n\r\r\nbody\rx\r\n")
    assert raw(block) == b"Subject: ab\nX: y\n"
    assert body == b"body\rx\r\n"


# -- fields ----------------------------------------------------------------------------

def test_kept_fields_carry_raw_bytes_and_unfolded_values() -> None:
    block, _ = read(b"To: a@x,\n\tb@y\nSubject: s\nCc: c@z\n\n")
    to, cc = block.fields
    assert (to.name, to.raw, to.index) == ("To", b"To: a@x,\n\tb@y\n", 0)
    assert to.value == " a@x,\tb@y"
    assert (cc.name, cc.index) == ("Cc", 2)  # Subject is counted, not kept


def test_lookup_is_case_insensitive() -> None:
    block, _ = read(b"message-id: <1@x>\nDATE: now\nfrom: a@x\nFrom: b@x\n\n")
    assert block.has("Message-ID") and block.has("date")
    assert [f.value for f in block.get_all("FROM")] == [" a@x", " b@x"]
    assert block.get("cc") is None


def test_resent_fields_are_kept() -> None:
    block, _ = read(b"Resent-Date: x\nResent-Message-ID: <y>\n\n")
    assert [f.name for f in block.fields] == ["Resent-Date", "Resent-Message-ID"]


def test_keep_predicate_chooses_the_fields() -> None:
    block, _ = read(b"Subject: s\nTo: a@x\n\n", keep=lambda name: True)
    assert [f.name for f in block.fields] == ["Subject", "To"]


def test_non_utf8_bytes_survive_in_values() -> None:
    block, _ = read(b"To: J\xf6rg <j@x>\n\n")
    assert block.fields[0].value.encode("utf-8", "surrogateescape") == b" J\xf6rg <j@x>"


@pytest.mark.parametrize(
    ("line", "name"),
    [
        (b"To: x", "To"),
        (b"X-Custom-1:x", "X-Custom-1"),
        (b"To : x", None),  # msmtp needs the colon right after the name
        (b": x", None),
        (b"no colon here", None),
        (b"Bad Name: x", None),
        (b" To: x", None),
    ],
)
def test_field_names(line: bytes, name: str | None) -> None:
    assert field_name(line) == name


# -- filtering -------------------------------------------------------------------------

def test_filtered_drops_fields_with_their_continuation_lines() -> None:
    block, _ = read(b"To: a\nBcc: b,\n c,\n\td\nSubject: s\nbcc: e\n\n")
    kept = b"".join(block.filtered(lambda name: name.lower() == "bcc"))
    assert kept == b"To: a\nSubject: s\n"


def test_filtered_keeps_lines_that_are_not_fields() -> None:
    block, _ = read(b"junk line\n continued\nBcc : not a bcc field\n\n")
    assert b"".join(block.filtered(lambda name: True)) == raw(block)


# -- bounded memory --------------------------------------------------------------------

def test_a_huge_header_block_is_spooled_to_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(headers_module, "SPOOL_IN_MEMORY", 1000)
    lines = b"".join(b"X-%d: %s\n" % (i, b"v" * 50) for i in range(100))
    block, _ = read(lines + b"To: a@x\n\nbody")
    assert raw(block) == lines + b"To: a@x\n"
    assert not isinstance(block._spool, io.BytesIO)
    assert [f.name for f in block.fields] == ["To"]
    block.close()


def test_lines_longer_than_a_read_piece_are_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(headers_module, "LINE_PIECE", 8)
    data = b"To: aaaa@example.org,\n bbbb@example.org\nBcc: " + b"c" * 30 + b"\n\n"
    block, _ = read(data)
    assert block.fields[0].value == " aaaa@example.org, bbbb@example.org"
    assert b"".join(block.filtered(lambda n: n == "Bcc")) == data[: data.index(b"Bcc")]


# -- property: nothing is lost ---------------------------------------------------------

@given(st.binary(max_size=300), st.integers(min_value=1, max_value=20))
def test_header_block_separator_and_body_reassemble_the_input(data: bytes, piece: int) -> None:
    original = headers_module.LINE_PIECE
    headers_module.LINE_PIECE = piece
    try:
        block, body = read(data)
    finally:
        headers_module.LINE_PIECE = original
    head = data[: len(data) - len(body)]
    assert raw(block) + block.separator == head.replace(b"\r", b"")
