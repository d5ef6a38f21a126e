"""Order intents → Hyperliquid actions, in the SDK's wire shapes (unsigned; see `signing`).

Prices and sizes are rounded here, at the boundary, with the domain's rules
(`tailgate.domain.precision`), and anything the venue would reject for its size is refused
locally with a typed `OrderRefused` — never sent to collect a venue reject:
a price that rounds to zero, a size below one lot, a non-reduce-only order under
MIN_ORDER_NOTIONAL_USD (checked at the rounded limit price; a buy's cap sits above the fill
price, so a buy just over $10 at its cap can still fill under $10 — the venue judges that).

Hyperliquid has no true market orders: both our MARKET and LIMIT orders are IOC limits, the
limit being the slippage cap (the SDK's `market_open` does the same). A `trigger_price` makes
the protective stop: a reduce-only trigger order, `tpsl: "sl"`, `isMarket: true` for a
stop-market (its limit is the worst price the venue may fill it at).

The key order inside each action dict is the SDK's: the venue hashes the msgpack of the
action, so a reordered dict is a different action with a different signature.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any

from hyperliquid.utils.signing import OrderRequest as SdkOrderRequest
from hyperliquid.utils.signing import OrderType as WireOrderType
from hyperliquid.utils.signing import (
    OrderWire,
    order_request_to_order_wire,
    order_wires_to_order_action,
)
from hyperliquid.utils.types import Cloid

from tailgate.domain.models import Market, OrderType
from tailgate.domain.precision import round_price, round_size
from tailgate.domain.reasons import ReasonCode
from tailgate.venues.hyperliquid.constants import MIN_ORDER_NOTIONAL_USD
from tailgate.venues.protocols import OrderRequest

__all__ = [
    "IOC",
    "STOP_LOSS",
    "OrderRefused",
    "RefusalKind",
    "asset_indices",
    "cancel_by_cloid_action",
    "order_action",
    "order_wire",
    "update_leverage_action",
]

IOC = "Ioc"  # time in force of every non-trigger order we send
STOP_LOSS = "sl"  # trigger orders' tpsl kind for the protective stop
_CLOID = re.compile(r"0x[0-9a-fA-F]{32}")
_NOTIONAL_TOLERANCE = 1e-9  # 0.1 × 100.0 is 10.000000000000002 or 9.99…: float noise, not size


class RefusalKind(StrEnum):
    INVALID_CLIENT_ORDER_ID = "INVALID_CLIENT_ORDER_ID"
    COIN_MISMATCH = "COIN_MISMATCH"
    INVALID_PRICE = "INVALID_PRICE"  # not finite or not positive
    PRICE_ROUNDS_TO_ZERO = "PRICE_ROUNDS_TO_ZERO"
    INVALID_SIZE = "INVALID_SIZE"
    SIZE_BELOW_LOT = "SIZE_BELOW_LOT"
    NOTIONAL_BELOW_MINIMUM = "NOTIONAL_BELOW_MINIMUM"
    STOP_NOT_REDUCE_ONLY = "STOP_NOT_REDUCE_ONLY"
    INVALID_LEVERAGE = "INVALID_LEVERAGE"
    INVALID_ASSET = "INVALID_ASSET"


_REASON = {
    RefusalKind.INVALID_PRICE: ReasonCode.INVALID_PRICE,
    RefusalKind.PRICE_ROUNDS_TO_ZERO: ReasonCode.INVALID_PRICE,
    RefusalKind.INVALID_SIZE: ReasonCode.INVALID_SIZE,
    RefusalKind.SIZE_BELOW_LOT: ReasonCode.SIZE_BELOW_VENUE_MINIMUM,
    RefusalKind.NOTIONAL_BELOW_MINIMUM: ReasonCode.SIZE_BELOW_VENUE_MINIMUM,
}


class OrderRefused(ValueError):
    """Denied locally: the venue would reject this order, so it is never sent.

    `kind` says exactly why; `reason` is the store's reason code for it.
    """

    def __init__(self, kind: RefusalKind, detail: str) -> None:
        super().__init__(f"{kind.value}: {detail}")
        self.kind = kind
        self.reason: ReasonCode = _REASON.get(kind, ReasonCode.ORDER_REJECTED)
        self.detail = detail


def _check_asset(asset: int) -> None:
    if isinstance(asset, bool) or not isinstance(asset, int) or asset < 0:
        raise OrderRefused(RefusalKind.INVALID_ASSET, f"asset index must be an int >= 0: {asset!r}")


def _check_cloid(client_order_id: str) -> Cloid:
    if not isinstance(client_order_id, str) or not _CLOID.fullmatch(client_order_id):
        raise OrderRefused(
            RefusalKind.INVALID_CLIENT_ORDER_ID,
            f"client order id must be 0x + 32 hex digits (a cloid): {client_order_id!r:.60}",
        )
    return Cloid.from_str(client_order_id)


def _venue_price(price: float, market: Market, is_buy: bool, what: str) -> float:
    """Rounded so a cap stays a cap (buy down, sell up); for a stop's trigger that direction
    fires no later than asked (sell stops up, buy stops down)."""
    if isinstance(price, bool) or not isinstance(price, int | float) or not price > 0:
        raise OrderRefused(RefusalKind.INVALID_PRICE, f"{what} must be positive: {price!r}")
    if not math.isfinite(price):
        raise OrderRefused(RefusalKind.INVALID_PRICE, f"{what} must be finite: {price!r}")
    rounded = round_price(float(price), market, is_buy=is_buy)
    if rounded <= 0:
        raise OrderRefused(
            RefusalKind.PRICE_ROUNDS_TO_ZERO,
            f"{market.coin} {what} {price!r} rounds to 0 on the venue's grid",
        )
    return rounded


def _venue_size(size: float, market: Market) -> float:
    if isinstance(size, bool) or not isinstance(size, int | float) or not math.isfinite(size):
        raise OrderRefused(RefusalKind.INVALID_SIZE, f"size must be finite: {size!r}")
    if size <= 0:
        raise OrderRefused(RefusalKind.INVALID_SIZE, f"size must be positive: {size!r}")
    rounded = round_size(float(size), market)
    if rounded <= 0:
        lot = 10.0**-market.sz_decimals
        raise OrderRefused(
            RefusalKind.SIZE_BELOW_LOT, f"{market.coin} size {size!r} is below one lot ({lot:g})"
        )
    return rounded


def order_wire(request: OrderRequest, market: Market, asset: int) -> OrderWire:
    """The SDK's order wire for one order (`a`, `b`, `p`, `s`, `r`, `t`, `c`), rounded to the
    venue's grid; raises `OrderRefused` for what the venue would reject by size or shape."""
    _check_asset(asset)
    cloid = _check_cloid(request.client_order_id)
    if request.coin != market.coin:
        raise OrderRefused(
            RefusalKind.COIN_MISMATCH, f"order for {request.coin!r}, market is {market.coin!r}"
        )
    price = _venue_price(request.limit_price, market, request.is_buy, "limit price")
    size = _venue_size(request.size, market)
    order_type: WireOrderType
    if request.trigger_price is not None:
        if not request.reduce_only:
            raise OrderRefused(
                RefusalKind.STOP_NOT_REDUCE_ONLY,
                "a trigger (stop) order must be reduce-only: it protects a position",
            )
        trigger = _venue_price(request.trigger_price, market, request.is_buy, "trigger price")
        order_type = {
            "trigger": {
                "triggerPx": trigger,
                "isMarket": request.order_type is OrderType.MARKET,
                "tpsl": STOP_LOSS,
            }
        }
    else:
        order_type = {"limit": {"tif": IOC}}
    notional = size * price
    if not request.reduce_only and notional < MIN_ORDER_NOTIONAL_USD * (1 - _NOTIONAL_TOLERANCE):
        raise OrderRefused(
            RefusalKind.NOTIONAL_BELOW_MINIMUM,
            f"{market.coin} {size:g} × {price:g} = ${notional:.2f} is under the venue's "
            f"${MIN_ORDER_NOTIONAL_USD:g} minimum (only reduce-only orders are exempt)",
        )
    sdk_request: SdkOrderRequest = {
        "coin": market.coin,
        "is_buy": request.is_buy,
        "sz": size,
        "limit_px": price,
        "order_type": order_type,
        "reduce_only": request.reduce_only,
        "cloid": cloid,
    }
    return order_request_to_order_wire(sdk_request, asset)


def order_action(wires: Sequence[OrderWire]) -> dict[str, Any]:
    """`{"type": "order", "orders": [...], "grouping": "na"}` — no builder fee."""
    if not wires:
        raise ValueError("an order action needs at least one order")
    action: dict[str, Any] = order_wires_to_order_action(list(wires))
    return action


def cancel_by_cloid_action(asset: int, client_order_id: str) -> dict[str, Any]:
    """Cancel one resting order by our client order id (the SDK's `bulk_cancel_by_cloid`)."""
    _check_asset(asset)
    cloid = _check_cloid(client_order_id)
    return {"type": "cancelByCloid", "cancels": [{"asset": asset, "cloid": cloid.to_raw()}]}


def update_leverage_action(
    asset: int, market: Market, leverage: float, *, max_leverage: float
) -> dict[str, Any]:
    """Isolated-margin leverage for `asset`, capped at min(MAX_LEVERAGE setting, the market's
    maximum) and floored to a whole number (the venue takes an integer)."""
    _check_asset(asset)
    if not (math.isfinite(leverage) and math.isfinite(max_leverage)):
        raise OrderRefused(RefusalKind.INVALID_LEVERAGE, f"leverage {leverage!r} is not finite")
    capped = math.floor(min(leverage, max_leverage, market.max_leverage))
    if capped < 1:
        raise OrderRefused(
            RefusalKind.INVALID_LEVERAGE,
            f"{market.coin} leverage {leverage!r} (cap {max_leverage!r}, market "
            f"{market.max_leverage}) is below 1x",
        )
    return {"type": "updateLeverage", "asset": asset, "isCross": False, "leverage": int(capped)}


def asset_indices(meta: Mapping[str, Any]) -> dict[str, int]:
    """{coin: asset index} from the raw `meta` answer: the index is the coin's position in
    `universe`, delisted coins included (they keep their slot; `parse_meta` drops them, so
    its list's positions are not asset indices)."""
    universe = meta.get("universe") if isinstance(meta, Mapping) else None
    if not isinstance(universe, list):
        raise ValueError("meta has no 'universe' list")
    indices: dict[str, int] = {}
    for i, asset in enumerate(universe):
        name = asset.get("name") if isinstance(asset, Mapping) else None
        if not isinstance(name, str) or not name:
            raise ValueError(f"meta.universe[{i}] has no name")
        indices[name] = i
    return indices
