"""Download real history from Hyperliquid's public `/info` API (SPEC §B4 `tailgate data fetch`).

Fills come from `userFillsByTime`, candles from `candleSnapshot`; both answer a bounded page
per request (2,000 fills / 5,000 candles), so windows are walked forward from the last item
received, and duplicates at page edges are dropped by their ids. Files are written in the raw
venue formats tailgate imports (docs/import-formats.md): `fills/<address>.json` and
`prices/<COIN>_<interval>.json`. 429 and 5xx answers are retried with exponential backoff
(honouring `Retry-After`); anything else is an error naming the request.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tailgate.domain.models import MS_PER_DAY, MS_PER_MINUTE

__all__ = ["MAINNET_URL", "FetchError", "FetchResult", "HyperliquidHistory"]

MAINNET_URL = "https://api.hyperliquid.xyz"
MAX_ATTEMPTS = 5
FILLS_PAGE_LIMIT = 2_000  # userFillsByTime answers at most this many fills per request
CANDLES_PAGE_LIMIT = 5_000  # candleSnapshot answers at most this many candles per request
BACKOFF_BASE_S = 0.5
_INTERVAL_MS = {
    "1m": MS_PER_MINUTE,
    "5m": 5 * MS_PER_MINUTE,
    "15m": 15 * MS_PER_MINUTE,
    "1h": 60 * MS_PER_MINUTE,
    "4h": 240 * MS_PER_MINUTE,
    "1d": MS_PER_DAY,
}


class FetchError(RuntimeError):
    """The venue refused or failed a request for good; the message names which."""


@dataclass(frozen=True, slots=True)
class FetchResult:
    path: Path
    items: int
    requests: int


class HyperliquidHistory:
    def __init__(
        self,
        base_url: str = MAINNET_URL,
        *,
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        timeout_s: float = 20.0,
    ) -> None:
        self._client = client or httpx.Client(base_url=base_url, timeout=timeout_s)
        self._sleep = sleep
        self.requests = 0

    def close(self) -> None:
        self._client.close()

    def _info(self, body: dict[str, Any]) -> Any:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            self.requests += 1
            try:
                response = self._client.post("/info", json=body)
            except httpx.TransportError as exc:
                if attempt == MAX_ATTEMPTS:
                    raise FetchError(f"{body['type']}: {type(exc).__name__}: {exc}") from exc
                self._sleep(BACKOFF_BASE_S * 2 ** (attempt - 1))
                continue
            if response.status_code == 429 or response.status_code >= 500:
                if attempt == MAX_ATTEMPTS:
                    raise FetchError(
                        f"{body['type']}: HTTP {response.status_code} after {MAX_ATTEMPTS} attempts"
                    )
                retry_after = response.headers.get("retry-after")
                wait = (
                    float(retry_after)
                    if retry_after and retry_after.isdigit()
                    else (BACKOFF_BASE_S * 2 ** (attempt - 1))
                )
                self._sleep(wait)
                continue
            if response.status_code != 200:
                raise FetchError(
                    f"{body['type']}: HTTP {response.status_code}: {response.text[:200]}"
                )
            try:
                return response.json()
            except ValueError as exc:
                raise FetchError(f"{body['type']}: the answer is not JSON") from exc
        raise AssertionError("unreachable")

    def user_fills(self, leader: str, start_ms: int, end_ms: int) -> list[dict[str, Any]]:
        """Every fill of `leader` in [start, end], oldest first, walking 2,000-fill pages.

        A full page continues from its last millisecond (fills sharing it may straddle the
        page edge; their ids drop the overlap); a short page ends the window."""
        seen: set[tuple[Any, Any, Any]] = set()
        out: list[dict[str, Any]] = []
        cursor = start_ms
        while True:
            page = self._info(
                {"type": "userFillsByTime", "user": leader, "startTime": cursor, "endTime": end_ms}
            )
            if not isinstance(page, list):
                raise FetchError("userFillsByTime: expected a list")
            page.sort(key=lambda f: int(f["time"]))
            fresh = [f for f in page if _fill_id(f) not in seen]
            seen.update(_fill_id(f) for f in fresh)
            out.extend(fresh)
            if len(page) < FILLS_PAGE_LIMIT or not fresh:
                return out
            cursor = int(page[-1]["time"])

    def candles(self, coin: str, interval: str, start_ms: int, end_ms: int) -> list[dict[str, Any]]:
        """Candles of `coin` in [start, end], oldest first, walking 5,000-candle pages."""
        if interval not in _INTERVAL_MS:
            raise FetchError(
                f"candleSnapshot: unknown interval {interval!r} (one of {', '.join(_INTERVAL_MS)})"
            )
        out: dict[int, dict[str, Any]] = {}
        cursor = start_ms
        while True:
            page = self._info(
                {
                    "type": "candleSnapshot",
                    "req": {
                        "coin": coin,
                        "interval": interval,
                        "startTime": cursor,
                        "endTime": end_ms,
                    },
                }
            )
            if not isinstance(page, list):
                raise FetchError("candleSnapshot: expected a list")
            for c in page:
                out[int(c["t"])] = c
            if len(page) < CANDLES_PAGE_LIMIT:
                return [out[t] for t in sorted(out)]
            cursor = max(int(c["t"]) for c in page) + _INTERVAL_MS[interval]

    def fetch(
        self,
        out_dir: Path,
        *,
        leader: str | None,
        coins: list[str],
        days: float,
        interval: str = "1m",
        now_ms: int | None = None,
    ) -> list[FetchResult]:
        """Fills of `leader` and candles of `coins` over the last `days`, written to files."""
        end = now_ms if now_ms is not None else time.time_ns() // 1_000_000
        start = end - int(days * MS_PER_DAY)
        results: list[FetchResult] = []
        if leader:
            before = self.requests
            fills = self.user_fills(leader, start, end)
            path = out_dir / "fills" / f"{leader.lower()}.json"
            results.append(FetchResult(_write(path, fills), len(fills), self.requests - before))
        for coin in coins:
            before = self.requests
            candles = self.candles(coin, interval, start, end)
            path = out_dir / "prices" / f"{coin.upper()}_{interval}.json"
            results.append(FetchResult(_write(path, candles), len(candles), self.requests - before))
        return results


def _fill_id(fill: dict[str, Any]) -> tuple[Any, Any, Any]:
    return fill.get("tid"), fill.get("hash"), fill.get("oid")


def _write(path: Path, data: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".part")
    tmp.write_text(json.dumps(data), encoding="utf-8")
    tmp.replace(path)
    return path
