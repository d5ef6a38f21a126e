"""Orders: `openOrders` / `frontendOpenOrders`, `orderStatus`, and order (`/exchange`)
responses, including a WebSocket `post` action's payload.

Orders are independent facts: a bad one in a list is skipped with a `RejectedPayload`.
Prices are finite and > 0, sizes finite and >= 0 (0 only for a position TP/SL, which closes
whatever is open).

Statuses map onto our `OrderStatus` conservatively — only a definitive venue answer is a
reject or a fill (SPEC §E1: anything else stays UNKNOWN and is asked again):
* open → OPEN; triggered (a stop fired, its market order not yet settled) → OPEN too, so the
  caller keeps asking until the fills say what happened;
* filled → FILLED; every *Canceled / scheduledCancel, and iocCancelRejected (an IOC that met
  no liquidity: nothing refused it) → CANCELLED, or PARTIAL when some of the order had
  filled; rejected and every other *Rejected → REJECTED;
* an unknown status word, or a response of an unknown shape → PayloadError;
* `unknownOid` → None: the venue has no such order.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from tailgate.domain.models import LeaderFill
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
    show,
    size,
    text,
    time_ms,
)
from tailgate.venues.protocols import (
    OpenOrder,
    OrderRequest,
    OrderResult,
    OrderStatus,
    PayloadError,
    RejectedPayload,
    VenueFill,
)

__all__ = [
    "VenueOrder",
    "parse_open_orders",
    "parse_order",
    "parse_order_response",
    "parse_order_status",
    "parse_orders",
    "with_order_fills",
]

IOC_NOT_FILLED = "could not immediately match"  # the venue's error text for an unfilled IOC
IOC_CANCEL_REJECTED = "iocCancelRejected"  # the same, as `orderStatus` words it
PENDING_WORDS = frozenset({"waitingForFill", "waitingForTrigger"})  # placed, not yet live


@dataclass(frozen=True, slots=True)
class VenueOrder:
    """An order as `openOrders` / `frontendOpenOrders` / `orderStatus` describe it."""

    oid: int
    cloid: str | None
    coin: str
    is_buy: bool
    size: float  # remaining (`sz`); 0 for a position TP/SL, which closes whatever is open
    orig_size: float  # `origSz` (= size when the venue omits it)
    limit_price: float  # `limitPx`: for a stop-market, the worst price it may fill at
    trigger_price: float | None  # None unless `isTrigger`
    order_type: str  # "Limit", "Stop Market", "Take Profit Limit", … ("Limit" when omitted)
    reduce_only: bool
    time_ms: int

    @property
    def filled_size(self) -> float:
        return max(self.orig_size - self.size, 0.0)

    @property
    def client_order_id(self) -> str:
        """The cloid we sent, else "oid:<n>" (an order not placed by us)."""
        return self.cloid if self.cloid else f"oid:{self.oid}"

    def open_order(self) -> OpenOrder:
        market_trigger = self.trigger_price is not None and "Market" in self.order_type
        return OpenOrder(
            client_order_id=self.client_order_id,
            coin=self.coin,
            is_buy=self.is_buy,
            size=self.size,
            trigger_price=self.trigger_price,
            limit_price=None if market_trigger else self.limit_price,
        )


def _bool_or(raw: Mapping[str, Any], key: str, what: str, default: bool) -> bool:
    value = raw.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise bad(f"{what}.{key}: expected a boolean")
    return value


def parse_order(raw: object) -> VenueOrder:
    """One order object (an `openOrders` element, `orderStatus`'s `order.order`)."""
    order = mapping(raw, "order")
    side = field(order, "side", "order")
    if side not in ("B", "A"):
        raise bad(f"order.side: expected 'B' or 'A', got {show(side, 10)}")
    oid = integer(field(order, "oid", "order"), "order.oid")
    if oid < 0:
        raise bad(f"order.oid: negative id {oid}")
    is_trigger = _bool_or(order, "isTrigger", "order", False)
    position_tpsl = _bool_or(order, "isPositionTpsl", "order", False)
    remaining = size(field(order, "sz", "order"), "order.sz", allow_zero=True)
    orig = order.get("origSz")
    orig_size = remaining if orig is None else size(orig, "order.origSz", allow_zero=True)
    trigger = None
    if is_trigger:
        trigger = price(field(order, "triggerPx", "order"), "order.triggerPx")
    elif remaining == 0 and orig_size == 0 and not position_tpsl:
        raise bad("order: size 0 on an order that is not a position TP/SL", ReasonCode.INVALID_SIZE)
    cloid = order.get("cloid")
    order_type = order.get("orderType")
    return VenueOrder(
        oid=oid,
        cloid=text(cloid, "order.cloid") if cloid is not None else None,
        coin=text(field(order, "coin", "order"), "order.coin"),
        is_buy=side == "B",
        size=remaining,
        orig_size=orig_size,
        limit_price=price(field(order, "limitPx", "order"), "order.limitPx"),
        trigger_price=trigger,
        order_type=text(order_type, "order.orderType") if order_type is not None else "Limit",
        reduce_only=_bool_or(order, "reduceOnly", "order", False),
        time_ms=time_ms(field(order, "timestamp", "order"), "order.timestamp"),
    )


def parse_orders(raw: object) -> tuple[list[VenueOrder], list[RejectedPayload]]:
    """`openOrders` or `frontendOpenOrders` → (orders, rejects).

    `frontendOpenOrders` nests a parent's TP/SL under `children`, and lists them at the top
    level too: children are flattened and each order id kept once."""
    items = sequence(raw, "openOrders")
    orders: list[VenueOrder] = []
    rejects: list[RejectedPayload] = []
    seen: set[int] = set()
    stack: list[tuple[object, int]] = [(item, 0) for item in reversed(items)]
    while stack:
        item, depth = stack.pop()
        try:
            order = parse_order(item)
        except (PayloadError, *SHAPE_ERRORS) as exc:
            rejects.append(reject_of(exc, item, "order"))
            continue
        if order.oid not in seen:
            seen.add(order.oid)
            orders.append(order)
        children = item.get("children") if isinstance(item, Mapping) else None
        if isinstance(children, list) and depth < 2:  # a TP/SL has no children of its own
            stack.extend((child, depth + 1) for child in reversed(children))
    return orders, rejects


def parse_open_orders(raw: object) -> tuple[list[OpenOrder], list[RejectedPayload]]:
    """`openOrders` / `frontendOpenOrders` → our protocol's `OpenOrder`s, with rejects."""
    orders, rejects = parse_orders(raw)
    return [o.open_order() for o in orders], rejects


_CANCELLED_WORDS = ("canceled", "scheduledcancel")


def _status_of(word: str, filled: float) -> OrderStatus:
    lowered = word.lower()
    if word in ("open", "triggered"):
        return OrderStatus.OPEN
    if word == "filled":
        return OrderStatus.FILLED
    if word == IOC_CANCEL_REJECTED:  # an IOC that met no liquidity: not filled, not refused
        return OrderStatus.PARTIAL if filled > 0 else OrderStatus.CANCELLED
    if lowered.endswith("rejected"):
        return OrderStatus.REJECTED
    if lowered.endswith(_CANCELLED_WORDS):
        return OrderStatus.PARTIAL if filled > 0 else OrderStatus.CANCELLED
    raise bad(f"orderStatus: unknown status {show(word)}")


def _result_fills(fills: Iterable[LeaderFill], oid: int) -> tuple[VenueFill, ...]:
    return tuple(
        VenueFill(f.fill_id, f.price, f.size, f.fee, f.time_ms)
        for f in fills
        if f.order_id == oid
        and math.isfinite(f.price)
        and f.price > 0
        and math.isfinite(f.size)
        and f.size > 0
        and math.isfinite(f.fee)
    )


def parse_order_status(
    raw: object, client_order_id: str | None = None, fills: Iterable[LeaderFill] = ()
) -> OrderResult | None:
    """`orderStatus` → an `OrderResult`, or None for `unknownOid`.

    `client_order_id`: the id the caller asked about (default: the order's cloid, else
    "oid:<n>"). `fills`: our own fills (`userFills` parsed with our address); those of this
    order give the result its fills, filled size, average price and fee — `orderStatus` alone
    has sizes but no prices."""
    body = mapping(raw, "orderStatus")
    status = field(body, "status", "orderStatus")
    if status == "unknownOid":
        return None
    if status != "order":
        raise bad(f"orderStatus.status: expected 'order' or 'unknownOid', got {show(status)}")
    record = mapping(field(body, "order", "orderStatus"), "orderStatus.order")
    order = parse_order(field(record, "order", "orderStatus.order"))
    word = text(field(record, "status", "orderStatus.order"), "orderStatus.order.status")
    result = OrderResult(
        client_order_id=client_order_id or order.client_order_id,
        status=_status_of(word, order.filled_size),
        filled_size=order.filled_size,
        venue_order_id=str(order.oid),
        reason=word,
    )
    return with_order_fills(result, fills)


def with_order_fills(result: OrderResult, fills: Iterable[LeaderFill]) -> OrderResult:
    """`result` with the fills of its order among `fills` (our own, matched by the venue's
    order id): their ids, total size, average price and fee. Both the order response and
    `orderStatus` give sizes but no prices; unchanged when none of its fills is there."""
    oid = result.venue_order_id
    own = _result_fills(fills, int(oid)) if oid is not None and oid.isdigit() else ()
    if not own:
        return result
    filled = sum(f.size for f in own)
    return replace(
        result,
        filled_size=filled,
        avg_price=sum(f.price * f.size for f in own) / filled,
        fee=sum(f.fee for f in own),
        fills=own,
    )


def _order_result(item: object, request: OrderRequest) -> OrderResult:
    cid = request.client_order_id
    if isinstance(item, str):
        if item in PENDING_WORDS:  # accepted, not resting yet: the caller asks again later
            return OrderResult(cid, OrderStatus.OPEN, reason=item)
        raise bad(f"order status: unexpected {show(item)}")
    entry = mapping(item, "order status")
    if "error" in entry:
        message = entry["error"] if isinstance(entry["error"], str) else show(entry["error"])
        if IOC_NOT_FILLED in message:  # an IOC that met no liquidity: not a reject
            return OrderResult(cid, OrderStatus.CANCELLED, reason=message[:200])
        reason = f"{ReasonCode.ORDER_REJECTED.value}: {message[:200]}"
        return OrderResult(cid, OrderStatus.REJECTED, reason=reason)
    if "resting" in entry:
        resting = mapping(entry["resting"], "resting")
        oid = integer(field(resting, "oid", "resting"), "resting.oid")
        return OrderResult(cid, OrderStatus.OPEN, venue_order_id=str(oid), reason="resting")
    if "filled" in entry:
        filled = mapping(entry["filled"], "filled")
        total = size(field(filled, "totalSz", "filled"), "filled.totalSz")
        avg = price(field(filled, "avgPx", "filled"), "filled.avgPx")
        oid = integer(field(filled, "oid", "filled"), "filled.oid")
        done = total >= request.size * (1 - 1e-9)
        return OrderResult(
            cid,
            OrderStatus.FILLED if done else OrderStatus.PARTIAL,
            filled_size=total,
            avg_price=avg,
            venue_order_id=str(oid),
            reason=(ReasonCode.ORDER_FILLED if done else ReasonCode.ORDER_PARTIAL).value,
        )
    raise bad(f"order status: unknown shape with keys {show(sorted(map(str, entry)))}")


def parse_order_response(raw: object, requests: Sequence[OrderRequest]) -> list[OrderResult]:
    """An `/exchange` order response (or a WebSocket `post` action payload) → one result per
    request, in order.

    `{"status": "err", "response": text}` is the venue refusing the whole action: every
    order REJECTED with that text. A status list of the wrong length, or a shape we do not
    know, raises PayloadError — the caller must treat those orders as UNKNOWN and query
    them, never as rejected."""
    body = mapping(raw, "order response")
    status = field(body, "status", "order response")
    if status == "err":
        message = body.get("response")
        said = message if isinstance(message, str) else show(message)
        reason = f"{ReasonCode.ORDER_REJECTED.value}: {said[:200]}"
        return [
            OrderResult(r.client_order_id, OrderStatus.REJECTED, reason=reason) for r in requests
        ]
    if status != "ok":
        raise bad(f"order response: status {show(status)}")
    response = mapping(field(body, "response", "order response"), "order response.response")
    data = mapping(field(response, "data", "order response.response"), "order response.data")
    statuses = sequence(field(data, "statuses", "order response.data"), "statuses")
    if len(statuses) != len(requests):
        raise bad(f"order response: {len(statuses)} statuses for {len(requests)} orders")
    return [_order_result(item, req) for item, req in zip(statuses, requests, strict=True)]
