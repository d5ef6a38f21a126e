"""Stop (trigger) orders resting at the simulated venue, settled against the minute bars.

The venue is passive — it runs only when called — so resting stops are settled lazily, at the
start of every call, over the bars completed since they were last checked. A stop touched
inside a bar fills at its trigger, one gapped through fills at the bar's open; either way the
order then walks that minute's book, so a large stop pays depth like any market order.
"""

from __future__ import annotations

from dataclasses import dataclass

from tailgate.domain.models import MS_PER_MINUTE
from tailgate.domain.precision import round_price
from tailgate.domain.stops import stop_fill_price
from tailgate.venues.sim.book import take_liquidity
from tailgate.venues.sim.world import SimWorld

__all__ = ["PendingTrigger", "TriggerFill", "settle_trigger"]

_FAR = 1e18


@dataclass(slots=True)
class PendingTrigger:
    client_order_id: str
    coin: str
    is_buy: bool  # a buy stop protects a short, a sell stop a long
    size: float
    trigger_price: float
    checked_ms: int  # bars completed up to here were already checked


@dataclass(frozen=True, slots=True)
class TriggerFill:
    time_ms: int
    price: float


def settle_trigger(world: SimWorld, stop: PendingTrigger, now_ms: int) -> TriggerFill | None:
    """The fill of `stop` in the bars completed in (checked_ms, now_ms], or None (and the stop
    is marked checked up to now)."""
    paths = world.paths
    coin_idx = world.coin_index(stop.coin)
    assert coin_idx is not None
    m0, m1 = paths.minute_of(stop.checked_ms), paths.minute_of(now_ms)
    stop.checked_ms = max(stop.checked_ms, now_ms)
    if m1 <= m0:
        return None
    below = -_FAR if stop.is_buy else stop.trigger_price
    above = stop.trigger_price if stop.is_buy else _FAR
    k = paths.first_cross(coin_idx, m0, m1, below=below, above=above)
    if k < 0:
        return None
    bar_open = float(paths.close[coin_idx, k - 1])
    touched = stop_fill_price(
        stop.trigger_price,
        not stop.is_buy,
        bar_open,
        float(paths.high[coin_idx, k]),
        float(paths.low[coin_idx, k]),
    )
    if touched is None:  # the scan and the bar disagree only at float edges: take the trigger
        touched = stop.trigger_price
    bar_ms = paths.t0_ms + k * MS_PER_MINUTE
    book = world.book(stop.coin, bar_ms)
    taken = take_liquidity(book, stop.is_buy, stop.size, _FAR if stop.is_buy else 0.0)
    filled = sum(q for _, q in taken)
    slippage = 0.0
    if filled > 0:
        vwap = sum(p * q for p, q in taken) / filled
        slippage = abs(vwap - book.mid) / book.mid
    price = touched * (1 + slippage) if stop.is_buy else touched * (1 - slippage)
    market = world.market(stop.coin)
    assert market is not None
    return TriggerFill(bar_ms, round_price(price, market))
