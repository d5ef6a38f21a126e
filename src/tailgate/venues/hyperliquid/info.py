"""Hyperliquid's public reads over HTTP: the leader feed and market data (SPEC §C1, §C2).

`HyperliquidInfo` implements `LeaderFeed` and `MarketData` with `POST /info` through the
resilient transport (its weights declared in `transport.limits`: reads are idempotent, so they
are retried with backoff and share the IP's budget) and the adapter's parsers. History is read
in windows: `userFillsByTime` answers at most 2,000 fills, so a full page is followed by the
next window from its last fill's time (fills at that millisecond are read twice and kept once).
The leaderboard (~30k rows, one large document) is streamed row by row, never held whole.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from tailgate.domain.models import LeaderboardEntry, LeaderState, Market, OrderBook
from tailgate.domain.reasons import ReasonCode
from tailgate.logs import get_logger
from tailgate.transport import HttpTransport
from tailgate.transport.limits import RequestWeights, hyperliquid_limits
from tailgate.venues.hyperliquid.leaderboard import aiter_leaderboard_rows
from tailgate.venues.hyperliquid.parse import (
    parse_all_mids,
    parse_clearinghouse_state,
    parse_l2_book,
    parse_meta,
    parse_portfolio,
    parse_user_fills,
)
from tailgate.venues.hyperliquid.signing import Network
from tailgate.venues.protocols import FillPage, PayloadError, RejectedPayload

__all__ = ["FILLS_PAGE_LIMIT", "LEADERBOARD_URL", "HyperliquidInfo"]

log = get_logger("tailgate.hyperliquid.info")

FILLS_PAGE_LIMIT = 2000  # userFillsByTime answers at most this many per request
MAX_PAGES = 50  # 100k fills in one window is a runaway, not a leader
LEADERBOARD_URL = Network.MAINNET.leaderboard_url


class HyperliquidInfo:
    def __init__(
        self,
        http: HttpTransport,
        *,
        leaderboard_url: str = LEADERBOARD_URL,
        leaderboard_timeout_s: float = 60.0,
        weights: RequestWeights | None = None,
        now_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
    ) -> None:
        self._http = http
        self._weights = weights or hyperliquid_limits().info
        self._leaderboard_url = leaderboard_url
        self._leaderboard_timeout_s = leaderboard_timeout_s
        self._now_ms = now_ms
        self.rejects: list[RejectedPayload] = []  # bad rows skipped, kept for the caller's log

    async def info(self, body: dict[str, Any]) -> Any:
        kind = str(body["type"])
        return await self._http.post_json(
            "/info",
            body,
            endpoint=f"info.{kind}",
            weight=self._weights.weight(kind),
            idempotent=True,
            items_weight=lambda answer: self._weights.extra_weight(
                kind, len(answer) if isinstance(answer, list) else 0
            ),
        )

    # ---- LeaderFeed -------------------------------------------------------------------------

    async def leaderboard(self, window_days: int) -> list[LeaderboardEntry]:
        """Every row with the window, best PnL first; bad rows are skipped and reported.
        Streamed (the document is large, on its own host) and retried like any read."""
        rejects: list[RejectedPayload] = []

        async def read(response: httpx.Response) -> list[LeaderboardEntry]:
            rejects.clear()  # a retried download starts over
            entries = []
            async for row in aiter_leaderboard_rows(response.aiter_bytes(), rejects):
                entry = row.entry(window_days)
                if entry is not None:
                    entries.append(entry)
            return entries

        entries: list[LeaderboardEntry] = await self._http.get_streamed(
            self._leaderboard_url,
            endpoint="leaderboard",
            weight=0,  # another host: not part of the API's per-IP weight
            read=read,
            timeout_s=self._leaderboard_timeout_s,
        )
        if rejects:
            log.warning("leaderboard_rows_rejected", count=len(rejects))
            self.rejects.extend(rejects)
        entries.sort(key=lambda e: (-e.pnl, e.leader))
        return entries

    async def leader_fills(self, leader: str, start_ms: int, end_ms: int) -> FillPage:
        """Fills with start ≤ time < end, oldest first, read window by window."""
        fills, rejects, seen = [], [], set()
        start = start_ms
        for _ in range(MAX_PAGES):
            raw = await self.info(
                {
                    "type": "userFillsByTime",
                    "user": leader,
                    "startTime": start,
                    "endTime": end_ms - 1,
                    "aggregateByTime": False,
                }
            )
            page = parse_user_fills(raw, leader)
            rejects.extend(page.rejects)
            for f in page.fills:
                if f.dedupe_key not in seen and start_ms <= f.time_ms < end_ms:
                    seen.add(f.dedupe_key)
                    fills.append(f)
            count = len(raw) if isinstance(raw, list) else 0
            if count < FILLS_PAGE_LIMIT or not page.fills:
                break
            last = max(f.time_ms for f in page.fills)
            if last <= start:  # a whole page in one millisecond: cannot move on
                log.error("fills_page_stuck", leader=leader, time_ms=last)
                break
            start = last
        else:
            log.error("fills_pages_exhausted", leader=leader, start_ms=start_ms, end_ms=end_ms)
        fills.sort(key=lambda f: (f.time_ms, f.dedupe_key))
        return FillPage(fills, rejects)

    async def leader_state(self, leader: str) -> LeaderState:
        raw = await self.info({"type": "clearinghouseState", "user": leader})
        return parse_clearinghouse_state(raw, leader, self._now_ms())

    async def leader_portfolio(self, leader: str) -> list[tuple[int, float]]:
        return parse_portfolio(await self.info({"type": "portfolio", "user": leader}))

    # ---- MarketData -------------------------------------------------------------------------

    async def markets(self) -> list[Market]:
        return parse_meta(await self.info({"type": "meta"}))

    async def mids(self) -> dict[str, float]:
        return parse_all_mids(await self.info({"type": "allMids"}))

    async def order_book(self, coin: str) -> OrderBook:
        raw = await self.info({"type": "l2Book", "coin": coin})
        if raw is None:
            raise PayloadError(ReasonCode.UNKNOWN_COIN, f"no market {coin!r}")
        return parse_l2_book(raw)
