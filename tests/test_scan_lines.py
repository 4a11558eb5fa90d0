"""Locating lines without reading or splitting everything: hit records in a block, a plain file's
chunk ends. The same places as splitting or reading the bytes whole finds."""
from __future__ import annotations

import random

import pytest

from canary.scan.lines import BlockLines, record_at
from canary.scan.matcher import _DIGITS_AND_NEWLINES, _SEPARATORS


def random_block(rng: random.Random) -> bytes:
    """Records of every length (empty ones too), dense with separators or with none."""
    alphabet = rng.choice([b"0123456789 .-/()", b"abc;0123456789", b" ", b"x", b"0123456789\r"])
    records = []
    for _ in range(rng.randint(1, 300)):
        length = rng.choice([0, 1, 2, rng.randint(0, 40), rng.randint(0, 600)])
        records.append(bytes(rng.choice(alphabet) for _ in range(length)))
    return b"\n".join(records)


def line_starts(data: bytes) -> list[int]:
    starts, at = [], 0
    for line in data.split(b"\n"):
        starts.append(at)
        at += len(line) + 1
    return starts


@pytest.mark.parametrize("seed", range(40))
def test_records_are_located_where_splitting_puts_them(seed):
    rng = random.Random(seed)
    data = random_block(rng)
    digits = data.translate(_DIGITS_AND_NEWLINES, _SEPARATORS)
    starts, digit_starts = line_starts(data), line_starts(digits)
    assert len(starts) == len(digit_starts)
    lines = BlockLines(data, digits)
    wanted = sorted(rng.sample(range(len(starts)), rng.randint(0, min(len(starts), 30))))
    for index in wanted:
        assert lines.start(index, digit_starts[index]) == starts[index]
        assert lines.start(index, digit_starts[index]) == starts[index]   # asked again: the same record
    for position in sorted(rng.randrange(len(data) + 1) for _ in range(20)):
        index = max(i for i, start in enumerate(starts) if start <= position)
        assert lines.index(position) == (index, starts[index])
        assert record_at(data, starts[index]) == data.split(b"\n")[index]


@pytest.mark.parametrize("seed", range(20))
def test_a_plain_files_chunk_is_read_back_from_its_end_to_its_last_line_end(seed, tmp_path, monkeypatch):
    from canary.scan import file_formats
    monkeypatch.setattr(file_formats, "_WINDOW_BYTES", 7)   # many windows per chunk
    rng = random.Random(seed)
    data = random_block(rng) + bytes(rng.choice(b"x;") for _ in range(rng.randint(0, 30)))
    path = tmp_path / "leak.txt"
    path.write_bytes(data)
    with path.open("rb") as stream:
        start = rng.randint(0, len(data))
        chunk = file_formats._FileChunk("leak.txt", stream.fileno(), start, len(data) - start)
        expected = data[start:]
        assert chunk.rfind(b"\n") == expected.rfind(b"\n")
        cut = rng.randint(0, len(expected))
        assert chunk[cut:] == expected[cut:] and bytes(chunk) == expected and len(chunk) == len(expected)
