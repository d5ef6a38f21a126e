"""Market data: `meta`, `allMids`, `l2Book` (REST and WebSocket) and `candleSnapshot`.

Unlike fills, market data is judged here: a price is finite and > 0 (INVALID_PRICE), a size
finite and > 0 (INVALID_SIZE), or the payload is rejected — no later check stands between a
book and the price of an order.

What is skipped and what is fatal: independent facts in a list (one asset of `meta`, one mid
of `allMids`) are skipped with a `RejectedPayload` and the rest kept; a level of a book is not
independent (dropping one misstates depth), so a bad level rejects the whole book.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tailgate.domain.models import Level, Market, OrderBook
from tailgate.domain.reasons import ReasonCode
from tailgate.venues.hyperliquid.parse_common import (
    SHAPE_ERRORS,
    bad,
    field,
    integer,
    mapping,
    price,
    reject_of,
    sequence,
    size,
    text,
    time_ms,
)
from tailgate.venues.protocols import PayloadError, RejectedPayload

__all__ = [
    "CandlePage",
    "PerpAsset",
    "parse_all_mids",
    "parse_candle_snapshot",
    "parse_l2_book",
    "parse_meta",
    "parse_mids",
    "parse_perp_meta",
]

# `marginMode` values (newer `meta`) that forbid cross margin, like the older `onlyIsolated`.
_ISOLATED_ONLY_MODES = frozenset({"strictIsolated", "noCross"})


@dataclass(frozen=True, slots=True)
class PerpAsset:
    """One perpetual of `meta.universe`. `asset_id` is its index in the universe — the number
    an order names — so it is kept even when other entries are skipped."""

    asset_id: int
    coin: str
    sz_decimals: int
    max_leverage: int
    only_isolated: bool = False
    is_delisted: bool = False

    @property
    def market(self) -> Market:
        return Market(coin=self.coin, sz_decimals=self.sz_decimals, max_leverage=self.max_leverage)


def _flag(raw: Mapping[str, Any], key: str, what: str) -> bool:
    """An optional boolean: absent or null is False (the venue sends `"isDelisted": null`)."""
    value = raw.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise bad(f"{what}.{key}: expected a boolean")
    return value


def _perp_asset(raw: object, index: int) -> PerpAsset:
    what = f"universe[{index}]"
    asset = mapping(raw, what)
    sz_decimals = integer(field(asset, "szDecimals", what), f"{what}.szDecimals")
    max_leverage = integer(field(asset, "maxLeverage", what), f"{what}.maxLeverage")
    if not 0 <= sz_decimals <= 12:
        raise bad(f"{what}.szDecimals: {sz_decimals} outside [0, 12]")
    if max_leverage < 1:
        raise bad(f"{what}.maxLeverage: {max_leverage} < 1")
    mode = asset.get("marginMode")
    return PerpAsset(
        asset_id=index,
        coin=text(field(asset, "name", what), f"{what}.name"),
        sz_decimals=sz_decimals,
        max_leverage=max_leverage,
        only_isolated=_flag(asset, "onlyIsolated", what) or mode in _ISOLATED_ONLY_MODES,
        is_delisted=_flag(asset, "isDelisted", what),
    )


def parse_perp_meta(raw: object) -> tuple[list[PerpAsset], list[RejectedPayload]]:
    """`meta` → every perpetual (delisted ones included, flagged), bad entries skipped.

    Raises PayloadError only when the payload has no universe list at all."""
    meta = mapping(raw, "meta")
    universe = sequence(field(meta, "universe", "meta"), "meta.universe")
    assets: list[PerpAsset] = []
    rejects: list[RejectedPayload] = []
    for index, item in enumerate(universe):
        try:
            assets.append(_perp_asset(item, index))
        except (PayloadError, *SHAPE_ERRORS) as exc:
            rejects.append(reject_of(exc, item, f"universe[{index}]"))
    return assets, rejects


def parse_meta(raw: object) -> list[Market]:
    """`meta` → tradable perpetual markets; delisted ones (`isDelisted: true`) are left out.

    Strict: any bad entry raises (the simulator and the engine's market list want all or
    nothing); `parse_perp_meta` keeps the good entries and reports the bad ones."""
    assets, rejects = parse_perp_meta(raw)
    if rejects:
        raise PayloadError(rejects[0].reason, rejects[0].detail)
    return [a.market for a in assets if not a.is_delisted]


def parse_mids(raw: object) -> tuple[dict[str, float], list[RejectedPayload]]:
    """`allMids` (REST) or the WebSocket's `data.mids` → ({coin: mid}, rejects).

    Spot pairs ("@142", "PURR/USDC") are kept: the caller asks for the coins it trades."""
    mids = mapping(raw, "allMids")
    out: dict[str, float] = {}
    rejects: list[RejectedPayload] = []
    for coin, px in mids.items():
        try:
            out[text(coin, "allMids key")] = price(px, f"allMids.{str(coin)[:20]}")
        except (PayloadError, *SHAPE_ERRORS) as exc:
            rejects.append(reject_of(exc, {str(coin)[:40]: px}, "allMids"))
    return out, rejects


def parse_all_mids(raw: object) -> dict[str, float]:
    """`allMids` → {coin: mid}. Strict: any bad mid raises (see `parse_mids`)."""
    mids, rejects = parse_mids(raw)
    if rejects:
        raise PayloadError(rejects[0].reason, rejects[0].detail)
    return mids


_PLAIN_DECIMAL = re.compile(r"[0-9]{1,20}(?:\.[0-9]{1,19})?")
"""How the venue writes a book's prices and sizes: read without the general checks (a hot path:
every coin's book is pushed many times a second). Anything else takes the strict path."""


def _levels(raw: object, what: str, *, descending: bool) -> tuple[Level, ...]:
    levels: list[Level] = []
    plain = _PLAIN_DECIMAL.fullmatch
    for i, item in enumerate(sequence(raw, what)):
        if type(item) is dict:
            px, sz = item.get("px"), item.get("sz")
            if type(px) is str and type(sz) is str and plain(px) and plain(sz):
                level = Level(float(px), float(sz))
                if level.price > 0 and level.size > 0:  # finite: at most 40 digits
                    levels.append(level)
                    continue
        levels.append(_strict_level(item, f"{what}[{i}]"))
    # Best first by price, never by position: the venue sends them so, and a book that does
    # not is still read right.
    levels.sort(key=lambda lv: lv.price, reverse=descending)
    return tuple(levels)


def _strict_level(item: object, where: str) -> Level:
    level = mapping(item, where)
    return Level(
        price=price(field(level, "px", where), f"{where}.px"),
        size=size(field(level, "sz", where), f"{where}.sz"),
    )


def parse_l2_book(raw: object) -> OrderBook:
    """`l2Book` (REST body, or the WebSocket's `data`): levels[0] bids, levels[1] asks.

    Both sides come out best first. A crossed book (best bid >= best ask) is INVALID_PRICE:
    no snapshot of a working venue is crossed, so it is corrupt."""
    book = mapping(raw, "l2Book")
    levels = sequence(field(book, "levels", "l2Book"), "l2Book.levels")
    if len(levels) != 2:
        raise bad(f"l2Book.levels: expected [bids, asks], got {len(levels)} sides")
    bids = _levels(levels[0], "l2Book.bids", descending=True)
    asks = _levels(levels[1], "l2Book.asks", descending=False)
    if bids and asks and bids[0].price >= asks[0].price:
        raise bad(
            f"l2Book: crossed, best bid {bids[0].price} >= best ask {asks[0].price}",
            ReasonCode.INVALID_PRICE,
        )
    return OrderBook(
        coin=text(field(book, "coin", "l2Book"), "l2Book.coin"),
        time_ms=time_ms(field(book, "time", "l2Book"), "l2Book.time"),
        bids=bids,
        asks=asks,
    )


# --- candles ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CandlePage:
    """`candleSnapshot` as the backtester's `Bars` (None when no candle was usable), with
    every candle that was skipped (bad numbers, a stray symbol or interval, a duplicate)."""

    bars: Any  # tailgate.backtest.data.Bars | None (imported lazily: numpy, no import cycle)
    rejects: list[RejectedPayload]


def _reason_of(code: str) -> ReasonCode:
    try:
        return ReasonCode(code)
    except ValueError:
        return ReasonCode.MALFORMED_PAYLOAD


def parse_candle_snapshot(
    raw: object, *, coin: str | None = None, interval_ms: int | None = None
) -> CandlePage:
    """`candleSnapshot` ([{t, T, s, i, o, h, l, c, v, n}, …]) → bars, by the same rules the
    backtest importer applies to saved snapshots (one code path for live and historical bars).

    An empty list is no bars and no rejects (a quiet coin). Raises PayloadError when the
    payload is not a list, or nothing in it is a usable candle."""
    candles = sequence(raw, "candleSnapshot")
    if not candles:
        return CandlePage(bars=None, rejects=[])
    # Lazy: the backtest package imports this adapter's fill parser (a cycle at import time)
    # and numpy; market data that never asks for candles should not pay for either.
    from tailgate.backtest.data.hl_candles import read_candle_snapshot

    try:
        bars, report = read_candle_snapshot(candles, coin=coin, interval_ms=interval_ms)
    except (PayloadError, *SHAPE_ERRORS) as exc:  # DataImportError is a ValueError
        detail = getattr(exc, "problem", None) or f"{type(exc).__name__}"
        raise bad(f"candleSnapshot: {detail}") from None
    rejects = [
        RejectedPayload(_reason_of(issue.reason_code.value), issue.detail, f"[{issue.line}]")
        for issue in report.issues
        if issue.skipped
    ]
    return CandlePage(bars=bars, rejects=rejects)
