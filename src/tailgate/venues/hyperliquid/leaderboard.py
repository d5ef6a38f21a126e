"""The public leaderboard (`stats-data.hyperliquid.xyz/Mainnet/leaderboard`), read streaming.

The document is `{"leaderboardRows": [{"ethAddress", "accountValue", "windowPerformances":
[["day", {"pnl", "roi", "vlm"}], ["week", …], ["month", …], ["allTime", …]], "prize",
"displayName"}, …]}` — ~30,000 rows, ~25 MB. `iter_leaderboard_rows` / `aiter_leaderboard_rows`
read it from the response's byte chunks one row at a time (`json_stream.ArraySplitter`), so the
caller can keep only what it selects. A bad row is skipped with a `RejectedPayload`; a document
that is not JSON, is truncated, or has no rows raises `PayloadError` — after the rows before
the damage were yielded, so collect before acting.

Numbers: pnl, roi and account value are finite (any sign); volume and prize finite and >= 0.
roi is a fraction, as the venue sends it. The real venue has no 90-day window (the simulator
adds "ninetyDay"): `row.entry(90)` is None there.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from tailgate.domain.models import LeaderboardEntry
from tailgate.domain.reasons import ReasonCode
from tailgate.venues.hyperliquid.json_stream import ArraySplitter
from tailgate.venues.hyperliquid.parse_common import (
    SHAPE_ERRORS,
    bad,
    field,
    mapping,
    money,
    reject_of,
    sequence,
    size,
    text,
)
from tailgate.venues.protocols import PayloadError, RejectedPayload

__all__ = [
    "LEADERBOARD_WINDOWS",
    "ROWS_KEY",
    "LeaderboardRow",
    "WindowPerformance",
    "aiter_leaderboard_rows",
    "iter_leaderboard_rows",
    "parse_leaderboard",
    "parse_leaderboard_row",
    "read_leaderboard_row",
]

ROWS_KEY = "leaderboardRows"
# window_days → the key of Hyperliquid's `windowPerformances`.
LEADERBOARD_WINDOWS: Mapping[int, str] = {1: "day", 7: "week", 30: "month", 90: "ninetyDay"}
_MAX_WINDOWS = 16  # the venue sends 4; a row with hundreds is not a leaderboard row


@dataclass(frozen=True, slots=True)
class WindowPerformance:
    pnl: float
    roi: float  # fraction over the window
    volume: float


@dataclass(frozen=True, slots=True)
class LeaderboardRow:
    """One trader's row, every window."""

    leader: str
    account_value: float
    windows: Mapping[str, WindowPerformance]  # "day", "week", "month", "allTime" (+ sim's)
    display_name: str | None = None
    prize: float = 0.0

    def entry(self, window_days: int) -> LeaderboardEntry | None:
        """The row for one window (1, 7, 30 or 90 days), None when the row lacks it."""
        key = LEADERBOARD_WINDOWS.get(window_days)
        if key is None:
            raise ValueError(f"window_days must be one of {sorted(LEADERBOARD_WINDOWS)}")
        perf = self.windows.get(key)
        if perf is None:
            return None
        return LeaderboardEntry(
            leader=self.leader,
            window_days=window_days,
            account_value=self.account_value,
            pnl=perf.pnl,
            roi=perf.roi,
            volume=perf.volume,
            display_name=self.display_name,
        )


def read_leaderboard_row(raw: object) -> LeaderboardRow:
    """One element of `leaderboardRows`; raises PayloadError."""
    row = mapping(raw, "leaderboard row")
    pairs = sequence(field(row, "windowPerformances", "row"), "windowPerformances")
    if len(pairs) > _MAX_WINDOWS:
        raise bad(f"windowPerformances: {len(pairs)} windows")
    windows: dict[str, WindowPerformance] = {}
    for i, item in enumerate(pairs):
        pair = sequence(item, f"windowPerformances[{i}]")
        if len(pair) != 2 or not isinstance(pair[0], str):
            raise bad(f"windowPerformances[{i}]: expected [name, performance]")
        name = pair[0]
        perf = mapping(pair[1], f"windowPerformances[{i}]")
        volume = perf.get("vlm")
        windows[name] = WindowPerformance(
            pnl=money(field(perf, "pnl", name), f"{name}.pnl"),
            roi=money(field(perf, "roi", name), f"{name}.roi"),
            volume=0.0 if volume is None else size(volume, f"{name}.vlm", allow_zero=True),
        )
    name = row.get("displayName")
    prize = row.get("prize")
    return LeaderboardRow(
        leader=text(field(row, "ethAddress", "row"), "row.ethAddress"),
        account_value=money(field(row, "accountValue", "row"), "row.accountValue"),
        windows=MappingProxyType(windows),
        display_name=name if isinstance(name, str) and name else None,
        prize=0.0 if prize is None else size(prize, "row.prize", allow_zero=True),
    )


def parse_leaderboard_row(raw: object, window_days: int) -> LeaderboardEntry:
    """One row of the leaderboard for one window (1, 7, 30 or 90 days); raises PayloadError
    when the row is bad or lacks that window (90 days needs the simulator's "ninetyDay"),
    ValueError for another `window_days`."""
    if window_days not in LEADERBOARD_WINDOWS:
        raise ValueError(f"window_days must be one of {sorted(LEADERBOARD_WINDOWS)}")
    entry = read_leaderboard_row(raw).entry(window_days)
    if entry is None:
        key = LEADERBOARD_WINDOWS[window_days]
        raise bad(f"leaderboard row: no {key!r} window for window_days={window_days}")
    return entry


def _row_or_reject(item: object, rejects: list[RejectedPayload]) -> LeaderboardRow | None:
    try:
        return read_leaderboard_row(item)
    except (PayloadError, *SHAPE_ERRORS) as exc:
        rejects.append(reject_of(exc, item, "leaderboard row"))
        return None


def _rows(items: Iterable[object], rejects: list[RejectedPayload]) -> Iterator[LeaderboardRow]:
    for item in items:
        row = _row_or_reject(item, rejects)
        if row is not None:
            yield row


def _finish(splitter: ArraySplitter, rejects: list[RejectedPayload]) -> Iterator[LeaderboardRow]:
    """The rows still buffered at the end of the document; none at all is a broken answer."""
    yield from _rows(splitter.close(), rejects)
    if splitter.count == 0:
        raise _no_rows()


def _no_rows() -> PayloadError:
    return PayloadError(ReasonCode.MALFORMED_PAYLOAD, f"{ROWS_KEY}: the list is empty")


def iter_leaderboard_rows(
    chunks: Iterable[bytes | bytearray | memoryview | str],
    rejects: list[RejectedPayload],
) -> Iterator[LeaderboardRow]:
    """The rows of a leaderboard document arriving as chunks, one at a time.

    Bad rows are appended to `rejects` (for the caller to record: no skip goes unreported)
    and skipped. Raises PayloadError for a broken document (see the module docstring) and for
    a document without rows: an empty leaderboard is a broken response, not a market with no
    traders."""
    splitter = ArraySplitter(ROWS_KEY)
    for chunk in chunks:
        yield from _rows(splitter.feed(chunk), rejects)
    yield from _finish(splitter, rejects)


async def aiter_leaderboard_rows(
    chunks: AsyncIterable[bytes | bytearray | memoryview | str],
    rejects: list[RejectedPayload],
) -> AsyncIterator[LeaderboardRow]:
    """`iter_leaderboard_rows` over an async byte stream (`httpx.Response.aiter_bytes()`)."""
    splitter = ArraySplitter(ROWS_KEY)
    async for chunk in chunks:
        for row in _rows(splitter.feed(chunk), rejects):
            yield row
    for row in _finish(splitter, rejects):
        yield row


def parse_leaderboard(raw: object) -> tuple[list[LeaderboardRow], list[RejectedPayload]]:
    """A leaderboard document already decoded (`{"leaderboardRows": [...]}`) → rows, rejects."""
    doc: Mapping[str, Any] = mapping(raw, "leaderboard")
    items = sequence(field(doc, ROWS_KEY, "leaderboard"), ROWS_KEY)
    if not items:
        raise _no_rows()
    rejects: list[RejectedPayload] = []
    rows = [row for item in items if (row := _row_or_reject(item, rejects)) is not None]
    return rows, rejects
