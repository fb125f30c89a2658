"""A mail becomes exact-size chunks, whatever pieces it arrives in, without piling up memory."""

from __future__ import annotations

import io
import tracemalloc

from hypothesis import given
from hypothesis import strategies as st

from smtpq.queue.store.rows import iter_chunks

SIZE = 7


@given(st.lists(st.binary(max_size=20), max_size=12))
def test_pieces_become_chunks_of_exactly_the_size_and_nothing_is_lost(pieces: list[bytes]):
    chunks = list(iter_chunks(iter(pieces), SIZE))
    assert b"".join(chunks) == b"".join(pieces)
    assert all(len(chunk) == SIZE for chunk in chunks[:-1])
    assert all(chunks) and all(isinstance(chunk, bytes) for chunk in chunks)


class ShortReads(io.RawIOBase):
    """A pipe-like file: reads return at most a few bytes."""

    def __init__(self, data: bytes, most: int) -> None:
        self.data, self.most = data, most

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        piece, self.data = self.data[:min(size, self.most)], self.data[min(size, self.most):]
        return piece


@given(st.binary(max_size=60), st.integers(min_value=1, max_value=9))
def test_a_file_with_short_reads_becomes_the_same_chunks(data: bytes, most: int):
    chunks = list(iter_chunks(ShortReads(data, most), SIZE))
    assert chunks == [data[i:i + SIZE] for i in range(0, len(data), SIZE)]


def test_memory_is_one_chunk_and_its_pieces_whatever_the_mail_size():
    piece = b"x" * 65536
    size = 1 << 20

    def peak(mib: int) -> int:
        tracemalloc.start()
        for _chunk in iter_chunks((piece for _ in range(16 * mib)), size):
            del _chunk
        _, most = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return most

    assert peak(32) < 3 * size and peak(32) < peak(2) + size // 4
