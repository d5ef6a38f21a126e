"""The trade fingerprint (SPEC §1, §B): sha256 over our ordered trade list.

The regression gate for every speed-up and the proof that backtest and paper mode trade
alike: the same input must give the same fingerprint. Each trade is (time, market, side,
size, price), size and price rounded to the venue's precision so float noise below the venue's
grid cannot change it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

from tailgate.domain.models import Market
from tailgate.domain.precision import round_price, round_size
from tailgate.store import Store

__all__ = ["fingerprint_trades", "store_fingerprint"]


def fingerprint_trades(
    trades: Iterable[tuple[int, str, bool, float, float]], markets: Mapping[str, Market]
) -> str:
    """sha256 hex of (time_ms, coin, buy|sell, size, price) lines, in the order given."""
    digest = hashlib.sha256()
    for time_ms, coin, is_buy, size, price in trades:
        market = markets[coin]
        line = (
            f"{time_ms}|{coin}|{'buy' if is_buy else 'sell'}|"
            f"{round_size(size, market):.{market.sz_decimals}f}|{round_price(price, market)!r}\n"
        )
        digest.update(line.encode())
    return digest.hexdigest()


def store_fingerprint(
    store: Store, markets: Mapping[str, Market], account: str | None = None
) -> str:
    """The fingerprint of every fill of our orders in the store (of `account`, when given: the
    house's trades, not its followers'), by time then fill order."""
    orders = {o.id: o for o in store.load_orders(account=account)}
    fills = sorted(store.load_fills(), key=lambda f: (f.time_ms, f.id or 0))
    return fingerprint_trades(
        (
            (f.time_ms, orders[f.order_id].coin, orders[f.order_id].is_buy, f.size, f.price)
            for f in fills
            if f.order_id in orders
        ),
        markets,
    )
