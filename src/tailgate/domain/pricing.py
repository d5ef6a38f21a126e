"""Price fallback chain (SPEC §E9): the price an order is priced at, and where it came from.

A copy should not be skipped because one source is briefly missing, but a price we cannot
trust is worse than no trade. So the sources are tried best first — the book walked to our
size, the mid, the last trade, the leader's own fill — and every input that is missing, not
finite, not positive or too old is passed over. When nothing is left the copy is skipped with
PRICE_UNAVAILABLE. The quote's source and detail are stored and logged with the order.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeGuard

from tailgate.domain.models import Level, OrderBook
from tailgate.domain.reasons import ReasonCode

__all__ = ["PriceQuote", "PriceSource", "book_mid", "book_vwap", "resolve_price"]

# Sequential subtraction of level sizes can leave a float crumb of the order unfilled even
# when the book is deep enough; a remainder this small (relative to the size) counts as filled.
_DEPTH_TOLERANCE = 1e-9


class PriceSource(StrEnum):
    BOOK = "book"  # the side we take, walked to our size (VWAP)
    MID = "mid"
    LAST_TRADE = "last_trade"
    LEADER_FILL = "leader_fill"


@dataclass(frozen=True, slots=True)
class PriceQuote:
    price: float
    source: PriceSource
    detail: str  # human-readable: how the price was made and which sources were passed over


def _positive(x: float | None) -> TypeGuard[float]:
    return x is not None and math.isfinite(x) and x > 0


def _valid(levels: Iterable[Level]) -> Iterable[Level]:
    return (lv for lv in levels if _positive(lv.price) and _positive(lv.size))


def book_vwap(book: OrderBook, is_buy: bool, size: float) -> tuple[float, int] | None:
    """(VWAP, levels used) of taking `size` coins from the side a buy or sell takes.

    None when the size is not positive or the book is too thin: a partial walk would price
    the order better than the market it would actually meet. Unusable levels are skipped.
    """
    if not _positive(size):
        return None
    remaining = size
    cost = 0.0
    for used, level in enumerate(_valid(book.asks if is_buy else book.bids), start=1):
        take = min(remaining, level.size)
        cost += take * level.price
        remaining -= take
        if remaining <= size * _DEPTH_TOLERANCE:
            price = cost / (size - remaining)
            return (price, used) if _positive(price) else None
    return None


def book_mid(book: OrderBook) -> float | None:
    """Midpoint of the best usable bid and ask; None when a side is empty or the book is crossed."""
    bid = next(iter(_valid(book.bids)), None)
    ask = next(iter(_valid(book.asks)), None)
    if bid is None or ask is None or bid.price > ask.price:
        return None
    return (bid.price + ask.price) / 2


def _staleness(age_ms: int, max_age_ms: int) -> str | None:
    """Why a price this old is not fresh enough, or None when it is.

    A time further in the future than the bound is as untrustworthy as one too far in the past
    (a clock error); a small lead is venue-vs-local clock skew and is accepted.
    """
    if age_ms > max_age_ms:
        return f"{age_ms} ms old > {max_age_ms}"
    if -age_ms > max_age_ms:
        return f"{-age_ms} ms in the future > {max_age_ms}"
    return None


def resolve_price(
    *,
    is_buy: bool,
    size: float,
    now_ms: int,
    max_last_trade_age_ms: int,
    max_leader_fill_age_ms: int,
    book: OrderBook | None = None,
    mid: float | None = None,
    last_trade_price: float | None = None,
    last_trade_ms: int | None = None,
    leader_fill_price: float | None = None,
    leader_fill_ms: int | None = None,
) -> PriceQuote | ReasonCode:
    """The first usable price of the chain book → mid → last trade → leader fill.

    `mid` is the venue's mid; when it is unusable the book's own top-of-book mid stands in
    (a book too thin for our size still has a good mid). Sizes are coins.
    """
    passed: list[str] = []

    def quote(price: float, source: PriceSource, how: str) -> PriceQuote:
        detail = f"{how}; passed over {', '.join(passed)}" if passed else how
        return PriceQuote(price, source, detail)

    walked = book_vwap(book, is_buy, size) if book is not None else None
    if walked is not None:
        price, used = walked
        return quote(price, PriceSource.BOOK, f"vwap of {size:g} over {used} level(s)")
    passed.append("book: none" if book is None else f"book: too thin for {size!r}")

    if _positive(mid):
        return quote(mid, PriceSource.MID, "venue mid")
    top_mid = book_mid(book) if book is not None else None
    if top_mid is not None:
        return quote(top_mid, PriceSource.MID, "top-of-book mid")
    passed.append(f"mid: {mid!r}")

    for source, price, time_ms, max_age in (
        (PriceSource.LAST_TRADE, last_trade_price, last_trade_ms, max_last_trade_age_ms),
        (PriceSource.LEADER_FILL, leader_fill_price, leader_fill_ms, max_leader_fill_age_ms),
    ):
        if not _positive(price):
            passed.append(f"{source.value}: {price!r}")
            continue
        if time_ms is None:
            passed.append(f"{source.value}: no time")
            continue
        stale = _staleness(now_ms - time_ms, max_age)
        if stale is not None:
            passed.append(f"{source.value}: {stale}")
            continue
        return quote(price, source, f"{now_ms - time_ms} ms old")

    return ReasonCode.PRICE_UNAVAILABLE
