"""The stats leaderboard (~30,000 rows, ~10-25 MB) read streaming: the same rows as a whole-
document parse, whatever the chunking, in bounded memory; broken and hostile documents are
typed rejections."""

from __future__ import annotations

import asyncio
import json
import random
import time
import tracemalloc
from collections.abc import AsyncIterator, Iterable, Iterator

import pytest

from tailgate.domain.reasons import ReasonCode
from tailgate.venues.hyperliquid.json_stream import MAX_ITEM_CHARS
from tailgate.venues.hyperliquid.parse import (
    LeaderboardRow,
    aiter_leaderboard_rows,
    iter_leaderboard_rows,
    parse_leaderboard,
    parse_leaderboard_row,
)
from tailgate.venues.protocols import PayloadError, RejectedPayload
from tests.venues.hyperliquid.hl_payloads import (
    DISPLAY_NAMES,
    leaderboard_chunks,
    leaderboard_row,
    rechunk,
)

FULL_ROWS = 30_000
PEAK_MEMORY_BOUND = 8 * 1024 * 1024  # the whole document decoded at once needs ~100 MB


def _document(rows: int, *, seed: int = 5, indent: bool = False) -> bytes:
    return b"".join(leaderboard_chunks(rows, seed=seed, indent=indent))


def _rows(chunks: Iterable[bytes | str]) -> tuple[list[LeaderboardRow], list[RejectedPayload]]:
    rejects: list[RejectedPayload] = []
    return list(iter_leaderboard_rows(chunks, rejects)), rejects


def _reason(chunks: Iterable[bytes | str]) -> ReasonCode:
    with pytest.raises(PayloadError) as err:
        _rows(chunks)
    return err.value.reason


def test_30k_rows_stream_in_bounded_memory(capsys: pytest.CaptureFixture[str]) -> None:
    chunks = list(leaderboard_chunks(FULL_ROWS))  # timed alone: the parse, not the generator
    size = sum(len(c) for c in chunks)
    started = time.perf_counter()
    count = sum(1 for _ in iter_leaderboard_rows(chunks, []))
    seconds = time.perf_counter() - started
    del chunks
    # memory: the generator's own chunks count too; only the row being read is held
    tracemalloc.start()
    try:
        kept = [
            entry
            for row in iter_leaderboard_rows(rechunk(leaderboard_chunks(FULL_ROWS), 65_537), [])
            if (entry := row.entry(30)) is not None and entry.account_value >= 50_000
        ]
        _, streaming_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == FULL_ROWS and 0 < len(kept) < FULL_ROWS
    assert streaming_peak < PEAK_MEMORY_BOUND
    with capsys.disabled():
        print(
            f"\nleaderboard: {FULL_ROWS} rows, {size / 1e6:.1f} MB parsed in {seconds:.2f} s "
            f"({FULL_ROWS / seconds:,.0f} rows/s); streamed from the generator, peak traced "
            f"memory {streaming_peak / 1e6:.2f} MB keeping the {len(kept)} rows of $50k+ accounts"
        )


def test_streaming_gives_exactly_the_rows_of_a_whole_document_parse() -> None:
    document = _document(2_000, indent=True)
    expected, expected_rejects = parse_leaderboard(json.loads(document))
    rows, rejects = _rows(rechunk(iter([document]), 4_093))
    assert rows == expected and rejects == expected_rejects == []
    first = json.loads(document)["leaderboardRows"][0]
    assert rows[0].leader == first["ethAddress"]
    assert rows[0].account_value == float(first["accountValue"])
    assert rows[0].windows["allTime"].roi == float(first["windowPerformances"][3][1]["roi"])
    assert set(rows[0].windows) == {"day", "week", "month", "allTime"}


def test_every_split_point_and_one_byte_chunks_give_the_same_rows() -> None:
    rng = random.Random(11)
    rows = [{**leaderboard_row(rng), "displayName": name} for name in DISPLAY_NAMES]
    document = json.dumps({"leaderboardRows": rows}, indent=1, ensure_ascii=False).encode()
    expected, _ = _rows([document])
    assert [r.display_name for r in expected] == list(DISPLAY_NAMES)
    for cut in range(len(document) + 1):
        assert _rows([document[:cut], document[cut:]])[0] == expected
    assert _rows(document[i : i + 1] for i in range(len(document)))[0] == expected
    assert _rows([document.decode()])[0] == expected  # text chunks too


def test_the_async_reader_gives_the_same_rows() -> None:
    async def body() -> AsyncIterator[bytes]:
        for chunk in rechunk(leaderboard_chunks(3_000, seed=2), 10_007):
            await asyncio.sleep(0)
            yield chunk

    async def read() -> list[LeaderboardRow]:
        return [row async for row in aiter_leaderboard_rows(body(), [])]

    assert asyncio.run(read()) == _rows(leaderboard_chunks(3_000, seed=2))[0]


def test_bad_rows_are_skipped_with_rejects_and_the_rest_kept() -> None:
    good = leaderboard_row(random.Random(1))
    bad_rows = [
        {**good, "ethAddress": None},
        {**good, "accountValue": "NaN"},
        {**good, "windowPerformances": "day"},
        {**good, "windowPerformances": [["day", {"pnl": "1", "roi": "Infinity", "vlm": "1"}]]},
        {**good, "windowPerformances": [["day", {"pnl": "1", "roi": "0.1", "vlm": "-5"}]]},
        "a string",
        None,
    ]
    text = json.dumps({"leaderboardRows": [good, *bad_rows, good]})
    text = text.replace('"accountValue": "NaN"', '"accountValue": 1e400')  # a JSON inf
    rows, rejects = _rows([text])
    assert len(rows) == 2 and len(rejects) == len(bad_rows)
    assert {r.reason for r in rejects} == {ReasonCode.MALFORMED_PAYLOAD, ReasonCode.INVALID_SIZE}


def test_other_keys_around_the_rows_are_skipped() -> None:
    row = leaderboard_row(random.Random(4))
    document = (
        '{"meta": {"note": "a ] and a [ and a \\" inside", "list": [1, [2, {"x": "}"}]]},'
        f'"count": 12345, "leaderboardRows": [{json.dumps(row)}], "tail": true}}'
    )
    for chunk_size in (1, 2, 3, 7, 64):
        rows, _ = _rows(rechunk(iter([document.encode()]), chunk_size))
        assert [r.leader for r in rows] == [row["ethAddress"]]


@pytest.mark.parametrize(
    "document",
    [
        b"",
        b"[]",
        b"{}",
        b'{"leaderboardRows": []}',  # an empty leaderboard is a broken response
        b'{"leaderboardRows": {"a": 1}}',
        b'{"leaderboardRows": [{}], "leaderboardRows": [{}]}',
        b'{"leaderboardRows": [] } trailing',
        b'{"leaderboardRows": [1 2]}',
        b'{"leaderboardRows" [1]}',
        b"{leaderboardRows: [1]}",
        b'{"leaderboardRows": ["\xff"]}',
        b'{"leaderboardRows": ["\xe6\x97',
        b'{"leaderboardRows": [' + b"[" * 100_000 + b"]" * 100_000 + b"]}",
        b'{"leaderboardRows": [' + b"9" * 5000 + b"]}",
    ],
)
def test_broken_documents_are_payload_errors(document: bytes) -> None:
    assert _reason(rechunk(iter([document]), 1000)) is ReasonCode.MALFORMED_PAYLOAD


def test_a_truncated_document_fails_after_the_complete_rows() -> None:
    document = _document(50, seed=9)
    for cut in random.Random(0).sample(range(1, len(document) - 1), 60):
        seen: list[LeaderboardRow] = []
        with pytest.raises(PayloadError) as err:
            seen.extend(iter_leaderboard_rows([document[:cut]], []))
        assert err.value.reason is ReasonCode.MALFORMED_PAYLOAD and len(seen) < 50


def test_a_row_that_never_ends_is_refused_without_buffering_the_stream() -> None:
    consumed = 0

    def endless() -> Iterator[bytes]:
        nonlocal consumed
        yield b'{"leaderboardRows": [{"ethAddress": "'
        while True:  # a string that never closes: 100 MB, 1 GB, …
            consumed += 1
            yield b"a" * 65_536

    assert _reason(endless()) is ReasonCode.MALFORMED_PAYLOAD
    assert consumed * 65_536 <= MAX_ITEM_CHARS + 2 * 65_536


def test_a_chunk_of_the_wrong_type_is_a_payload_error() -> None:
    assert _reason([b'{"leaderboardRows": [', 12]) is ReasonCode.MALFORMED_PAYLOAD  # type: ignore[list-item]


def test_window_entries_and_the_missing_90_day_window() -> None:
    row = leaderboard_row(random.Random(8))
    (parsed,), _ = _rows([json.dumps({"leaderboardRows": [row]})])
    week = parsed.entry(7)
    assert week is not None and week.roi == float(row["windowPerformances"][1][1]["roi"])
    assert week.volume == float(row["windowPerformances"][1][1]["vlm"])
    assert parsed.entry(90) is None  # the real venue has no 90-day window
    with pytest.raises(PayloadError, match="ninetyDay"):
        parse_leaderboard_row(row, 90)
    with pytest.raises(ValueError):
        parsed.entry(3)
