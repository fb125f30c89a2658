"""The DATA wire format: CRLF everywhere, dot-stuffing, msmtp's mailsize; streamed.

RFC 5321 §2.3.8 (no bare CR or LF), §4.5.2 (transparency), and the SMTP
smuggling lesson (peers.md §3.5): no receiver may ever see an end of data
that the protocol layer did not send.
"""

from __future__ import annotations

import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smtpq.sender.message.wire import WireEncoder, data_chunks, mail_size


def wire(data: bytes) -> bytes:
    return b"".join(data_chunks(io.BytesIO(data)))


# -- the reference's example (msmtp-1.8.23.md §5.10) -----------------------------------

REFERENCE_INPUT = b"line1\n.dot line\n..two dots\n.\nmixed crlf\r\nbare\rcr\nlast no newline"


def test_reference_example_with_the_lone_cr_as_line_break() -> None:
    # msmtp sends "bare\rcr\r\n" inside the body; a lone CR is a line break here.
    assert wire(REFERENCE_INPUT) == (
        b"line1\r\n..dot line\r\n...two dots\r\n..\r\nmixed crlf\r\nbare\r\ncr\r\n"
        b"last no newline\r\n"
    )


def test_reference_mailsize_counts_line_ends_once_and_no_stuffing_dots() -> None:
    # the same count msmtp logs: a lone CR is one byte either way
    assert mail_size(io.BytesIO(REFERENCE_INPUT)) == len(REFERENCE_INPUT) - 1 + 1


# -- line ends -------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"a\nb\n", b"a\r\nb\r\n"),  # bare LF becomes CRLF
        (b"a\r\nb\r\n", b"a\r\nb\r\n"),  # CRLF stays
        (b"a\rb\r", b"a\r\nb\r\n"),  # lone CR is a line break (deliberate)
        (b"a\r\r\nb", b"a\r\n\r\nb\r\n"),  # CR then CRLF: two line ends
        (b"a\n\rb", b"a\r\n\r\nb\r\n"),  # LF then CR: two line ends
        (b"no newline", b"no newline\r\n"),  # final CRLF added
        (b"", b""),  # nothing to send, nothing added
        (b"\n", b"\r\n"),
    ],
)
def test_line_ends(data: bytes, expected: bytes) -> None:
    assert wire(data) == expected


def test_long_lines_and_8bit_bytes_go_out_unchanged() -> None:
    line = "é".encode() * 2500 + b"\xff\x00"
    assert wire(line + b"\n") == line + b"\r\n"


# -- dot-stuffing (RFC 5321 §4.5.2) ----------------------------------------------------

@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b".\n", b"..\r\n"),
        (b".", b"..\r\n"),
        (b"..\n", b"...\r\n"),
        (b"a.\n.b\n", b"a.\r\n..b\r\n"),
        (b"x\r.\r", b"x\r\n..\r\n"),  # <CR>.<CR> can no longer end DATA anywhere
        (b"x\n.\r\n", b"x\r\n..\r\n"),  # <LF>.<CR><LF>
        (b"x\n.\n", b"x\r\n..\r\n"),  # <LF>.<LF>
        (b"x\r\n.\r\nMAIL FROM:<spoof@x>\r\n", b"x\r\n..\r\nMAIL FROM:<spoof@x>\r\n"),
    ],
)
def test_dot_stuffing_after_normalisation(data: bytes, expected: bytes) -> None:
    assert wire(data) == expected


# -- chunk boundaries ------------------------------------------------------------------

@pytest.mark.parametrize(
    "pieces",
    [
        [b"a\r", b"\nb"],  # CRLF split
        [b"a\r", b"", b"\nb"],  # split with an empty piece between
        [b"a\n", b".b"],  # dot at the start of the next chunk
        [b"a\r", b".b"],  # lone CR then dot
        [b"a", b"\r", b"\n", b".", b"\n"],
    ],
)
def test_boundaries_do_not_matter(pieces: list[bytes]) -> None:
    data = b"".join(pieces)
    assert b"".join(data_chunks(pieces)) == wire(data)


def test_large_chunks_are_yielded_not_lines() -> None:
    data = b"line\n" * 100_000
    chunks = list(data_chunks(io.BytesIO(data), chunk_size=64 * 1024))
    assert len(chunks) < 20
    assert all(len(c) >= 64 * 1024 for c in chunks[:-1])


def test_small_iterable_pieces_are_coalesced() -> None:
    chunks = list(data_chunks([b"a\n"] * 10_000, chunk_size=4096))
    assert len(chunks) == 8  # 30 000 bytes out
    assert all(len(c) >= 4096 for c in chunks[:-1])


def test_an_oversized_iterable_piece_is_split() -> None:
    chunks = list(data_chunks([b"x" * 100_000], chunk_size=1000))
    assert max(len(c) for c in chunks) <= 2000


def test_encoder_reports_mailsize_after_streaming() -> None:
    encoder = WireEncoder()
    out = b"".join(data_chunks(io.BytesIO(b".a\r\nb"), encoder=encoder))
    assert out == b"..a\r\nb\r\n"
    assert encoder.mailsize == len(b".a\nb\n")


# -- properties ------------------------------------------------------------------------

def normalised(data: bytes) -> bytes:
    """The input with every line end as CRLF and a final one added: what must arrive."""
    lines = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    if lines and not lines.endswith(b"\n"):
        lines += b"\n"
    return lines.replace(b"\n", b"\r\n")


def unstuffed(out: bytes) -> bytes:
    """What a receiver keeps (RFC 5321 §4.5.2): one leading dot removed per line."""
    lines = out.split(b"\r\n")
    return b"\r\n".join(line[1:] if line.startswith(b".") else line for line in lines)


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(c, len(data)) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


BYTES = st.binary(max_size=400) | st.lists(
    st.sampled_from([b"\r", b"\n", b".", b"a", b"\r\n", b"..", b" "]), max_size=80
).map(b"".join)


@given(BYTES, st.lists(st.integers(min_value=0, max_value=400), max_size=8))
def test_round_trip_for_any_bytes_and_any_chunking(data: bytes, cuts: list[int]) -> None:
    out = b"".join(data_chunks(split_at(data, cuts), chunk_size=7))
    assert unstuffed(out) == normalised(data)


@given(BYTES, st.lists(st.integers(min_value=0, max_value=400), max_size=8))
def test_no_bare_cr_or_lf_and_no_end_of_data_inside(data: bytes, cuts: list[int]) -> None:
    out = b"".join(data_chunks(split_at(data, cuts)))
    assert b"\r" not in out.replace(b"\r\n", b"") and b"\n" not in out.replace(b"\r\n", b"")
    assert b"." not in out.split(b"\r\n")  # no line is exactly "."
    assert b"\r\n.\r\n" not in out and not out.startswith(b".\r\n")
    assert out == b"" or out.endswith(b"\r\n")


@given(BYTES, st.lists(st.integers(min_value=0, max_value=400), max_size=8))
def test_mailsize_is_the_normalised_length_with_one_byte_line_ends(
    data: bytes, cuts: list[int]
) -> None:
    encoder = WireEncoder()
    for _ in data_chunks(split_at(data, cuts), encoder=encoder):
        pass
    assert encoder.mailsize == len(normalised(data).replace(b"\r\n", b"\n"))
