"""Leader fills: `userFills` / `userFillsByTime` (REST and WebSocket) and the `trades` channel.

Fills are checked for *shape* only: a NaN price or a negative size parses, and the domain's
`validate_leader_fill` rejects it later under the fill's durable dedupe key, so the rejection is
recorded once across restarts (a payload reject has no key). Anything that is not the right
shape raises `PayloadError(MALFORMED_PAYLOAD, detail)` — except `parse_user_fills`, which never
raises: each bad element becomes a `RejectedPayload` in the page.

Venue conventions handled here:
* numbers arrive as strings ("104567.0"); plain JSON numbers are accepted too, booleans never;
* `userFills` comes newest first; a `FillPage` is oldest first (stable, so the fills of one order
  keep their execution order);
* fills recorded before Hyperliquid added `tid` (2023) have none: their fill id is derived from
  (oid, startPosition, sz, px) as sent, which is unique and stable for a given fill — the
  dedupe key is `LeaderFill.dedupe_key`, "{leader}:{fill id}", whatever the source;
* the `liquidation` object sits on *every* fill of a liquidation, the liquidated user's and the
  counterparty's (a maker whose resting order the liquidation hit): a fill is the leader's own
  liquidation only when `liquidatedUser` is the leader (or, without that field, when present
  at all), or when `dir` says "Liquidated …".

The `trades` channel has no order id, direction or start position: `leader_fills_from_trades`
derives them for followed leaders (see its docstring).
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

from tailgate.domain.aggregation import FLAT_TOLERANCE
from tailgate.domain.models import LeaderFill
from tailgate.venues.hyperliquid.parse_common import (
    SHAPE_ERRORS,
    bad,
    field,
    integer,
    is_plain_decimal,
    mapping,
    number,
    price,
    reject_of,
    show,
    size,
    skip_bad_items,
    text,
    time_ms,
)
from tailgate.venues.protocols import FillPage, PayloadError, RejectedPayload

__all__ = [
    "Trade",
    "leader_fills_from_trades",
    "parse_trade",
    "parse_trades",
    "parse_user_fill",
    "parse_user_fills",
]

LIQUIDATED_PREFIX = "Liquidated"  # "Liquidated Cross Long", "Liquidated Isolated Short", …


def _plain_number(value: object) -> float:
    """Fast path: exact str / float / int only (bool is not int here); else TypeError."""
    if type(value) is str:
        if not is_plain_decimal(value):
            raise ValueError
        return float(value)
    if type(value) is float or type(value) is int:
        return float(value)  # type: ignore[arg-type]
    raise TypeError


def _leader_liquidated(fill: Mapping[str, Any], leader: str) -> bool:
    """Was this fill the liquidation of `leader` (not merely a fill against a liquidation)?"""
    direction = fill.get("dir")
    if isinstance(direction, str) and direction.startswith(LIQUIDATED_PREFIX):
        return True
    info = fill.get("liquidation")
    if not info:
        return False
    if isinstance(info, Mapping):
        user = info.get("liquidatedUser")
        if isinstance(user, str) and user:
            return user.lower() == leader.lower()
    return True  # a liquidation marker naming nobody: take it as the leader's own


def _fast_fill(fill: dict[str, Any], leader: str) -> LeaderFill:
    """The common, well-formed case without per-field bookkeeping. Any surprise raises
    (KeyError / TypeError / ValueError) and the caller re-parses with full diagnostics."""
    side, coin, direction = fill["side"], fill["coin"], fill["dir"]
    oid, t, tid = fill["oid"], fill["time"], fill["tid"]
    if (side != "B" and side != "A") or type(coin) is not str or not coin:
        raise ValueError
    if type(direction) is not str or not direction:
        raise ValueError
    if type(oid) is not int or type(t) is not int or type(tid) is not int:
        raise TypeError
    if not (0 <= oid < 2**63 and 0 < t < 2**63 and 0 <= tid < 2**63):
        raise ValueError
    tx_hash = fill.get("hash", "")
    return LeaderFill(
        leader=leader,
        coin=coin,
        price=_plain_number(fill["px"]),
        size=_plain_number(fill["sz"]),
        is_buy=side == "B",
        direction=direction,
        start_position=_plain_number(fill["startPosition"]),
        time_ms=t,
        order_id=oid,
        fill_id=str(tid),
        tx_hash=tx_hash if type(tx_hash) is str else "",
        closed_pnl=_plain_number(fill["closedPnl"]) if "closedPnl" in fill else 0.0,
        fee=_plain_number(fill["fee"]) if "fee" in fill else 0.0,
        liquidation=_leader_liquidated(fill, leader),
    )


def _num_field(raw: Mapping[str, Any], key: str, what: str) -> float:
    return number(field(raw, key, what), f"{what}.{key}")


def parse_user_fill(raw: Mapping[str, Any], leader: str) -> LeaderFill:
    """One element of `userFills` / `userFillsByTime` / a WebSocket fill."""
    if type(raw) is dict:
        try:
            return _fast_fill(raw, leader)
        except (KeyError, TypeError, ValueError, OverflowError):
            pass  # fall through: the careful path says exactly what is wrong (or accepts it)
    fill = mapping(raw, "fill")
    side = field(fill, "side", "fill")
    if side not in ("B", "A"):
        raise bad(f"fill.side: expected 'B' or 'A', got {show(side, 10)}")
    oid = integer(field(fill, "oid", "fill"), "fill.oid")
    if "tid" in fill and fill["tid"] is not None:
        fill_id = str(integer(fill["tid"], "fill.tid"))
    else:
        parts = [field(fill, k, "fill") for k in ("startPosition", "sz", "px")]
        for key, part in zip(("startPosition", "sz", "px"), parts, strict=True):
            number(part, f"fill.{key}")  # shape first: the id is built from the text as sent
        fill_id = f"{oid}:" + ":".join(str(p) for p in parts)
    tx_hash = fill.get("hash", "")
    return LeaderFill(
        leader=leader,
        coin=text(field(fill, "coin", "fill"), "fill.coin"),
        price=_num_field(fill, "px", "fill"),
        size=_num_field(fill, "sz", "fill"),
        is_buy=side == "B",
        direction=text(field(fill, "dir", "fill"), "fill.dir"),
        start_position=_num_field(fill, "startPosition", "fill"),
        time_ms=integer(field(fill, "time", "fill"), "fill.time"),
        order_id=oid,
        fill_id=fill_id,
        tx_hash=tx_hash if isinstance(tx_hash, str) else "",
        closed_pnl=_num_field(fill, "closedPnl", "fill") if "closedPnl" in fill else 0.0,
        fee=_num_field(fill, "fee", "fill") if "fee" in fill else 0.0,
        liquidation=_leader_liquidated(fill, leader),
    )


def parse_user_fills(raw: object, leader: str) -> FillPage:
    """A list of fills → a page, oldest first. Never raises: bad elements become rejects."""
    if not isinstance(raw, list):
        detail = f"fills: expected a list, got {type(raw).__name__}"
        return FillPage(fills=[], rejects=[reject_of(bad(detail), raw, "fills")])
    fills: list[LeaderFill] = []
    rejects: list[RejectedPayload] = []
    for element in raw:
        try:
            fills.append(parse_user_fill(element, leader))
        except (PayloadError, *SHAPE_ERRORS) as exc:
            # Not JSON-shaped (an exotic Mapping, say): still a reject, never an exception.
            rejects.append(reject_of(exc, element, "fill"))
    fills.sort(key=lambda f: f.time_ms)
    return FillPage(fills=fills, rejects=rejects)


# --- the public `trades` channel ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Trade:
    """One trade on a coin (WebSocket `trades`, REST `recentTrades`)."""

    coin: str
    price: float
    size: float  # coins, > 0
    taker_is_buy: bool  # `side` is the aggressor's: "B" a buyer lifted the ask
    time_ms: int
    trade_id: int  # `tid`: the same id the two counterparties' `userFills` carry
    tx_hash: str
    buyer: str  # `users[0]`, "" when the venue did not say
    seller: str  # `users[1]`


def parse_trade(raw: object) -> Trade:
    """One trade; prices and sizes must be finite and > 0 (INVALID_PRICE / INVALID_SIZE)."""
    trade = mapping(raw, "trade")
    side = field(trade, "side", "trade")
    if side not in ("B", "A"):
        raise bad(f"trade.side: expected 'B' or 'A', got {show(side, 10)}")
    buyer = seller = ""
    users = trade.get("users")
    if users is not None:
        if not (isinstance(users, list) and len(users) == 2):
            raise bad("trade.users: expected [buyer, seller]")
        buyer, seller = (text(u, "trade.users[]") for u in users)
    tx_hash = trade.get("hash", "")
    trade_id = integer(field(trade, "tid", "trade"), "trade.tid")
    if trade_id < 0:
        raise bad(f"trade.tid: negative id {trade_id}")
    return Trade(
        coin=text(field(trade, "coin", "trade"), "trade.coin"),
        price=price(field(trade, "px", "trade"), "trade.px"),
        size=size(field(trade, "sz", "trade"), "trade.sz"),
        taker_is_buy=side == "B",
        time_ms=time_ms(field(trade, "time", "trade"), "trade.time"),
        trade_id=trade_id,
        tx_hash=tx_hash if isinstance(tx_hash, str) else "",
        buyer=buyer,
        seller=seller,
    )


def parse_trades(raw: object) -> tuple[list[Trade], list[RejectedPayload]]:
    """A list of trades → (trades oldest first, rejects). A bad trade is skipped, not fatal.

    REST `recentTrades` is newest first, the WebSocket oldest first: both come out oldest
    first (by time, then trade id)."""
    if not isinstance(raw, list):
        detail = f"trades: expected a list, got {type(raw).__name__}"
        return [], [reject_of(bad(detail), raw, "trades")]
    trades, rejects = skip_bad_items(raw, parse_trade, "trade")
    trades.sort(key=lambda t: (t.time_ms, t.trade_id))
    return trades, rejects


def _direction(start: float, end: float, is_buy: bool) -> str:
    """Hyperliquid's `dir` for a perp fill from `start` to `end` (an add is an "Open")."""
    if start == 0 or (start > 0) == is_buy:
        return "Open Long" if is_buy else "Open Short"
    if end == 0 or (end > 0) == (start > 0):
        return "Close Short" if is_buy else "Close Long"
    return "Short > Long" if is_buy else "Long > Short"


def _order_id_of(trade: Trade, is_buy: bool) -> int:
    """A stand-in order id: the trades channel has none. One taker order is one transaction,
    so its fills share `hash`; but one transaction can carry several orders (a batch, on
    several coins), so the id digests (hash, coin, side): one side of one coin in one
    transaction is one order. A zero hash (venue housekeeping) falls back to the trade id.
    60 bits: positive, and far above real order ids (~1e11)."""
    if not trade.tx_hash.strip("0x"):
        return trade.trade_id
    key = f"{trade.tx_hash}:{trade.coin}:{'B' if is_buy else 'A'}".encode()
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big") >> 4


def leader_fills_from_trades(
    trades: Iterable[Trade],
    leaders: Collection[str],
    positions: MutableMapping[tuple[str, str], float],
) -> list[LeaderFill]:
    """The fills of followed `leaders` in public trades, oldest first: a leader who is
    `users[0]` bought, `users[1]` sold. A trade with one user on both sides (a self-cross,
    possible before the venue's self-trade prevention) changes no position and is skipped.

    The trades channel says nothing about the leader's position, so `positions` must: the
    leader's signed size per (leader, coin) as last known — seed it from `clearinghouseState`
    (a coin not in it is flat) — and it is updated in place, fill by fill, so the next message
    continues from here. From it each fill gets `start_position` and a venue-style `dir`
    ("Open Long", "Close Short", "Long > Short"…). Ids: `fill_id` is the trade's `tid` — the
    id the leader's own `userFills` carry, so the dedupe key is the same whichever source
    delivers the fill first; `order_id` is a stand-in (see `_order_id_of`): a taker order's
    fills share it, a maker order filled by several takers becomes several trades.
    `closed_pnl` and `fee` are unknown here (0.0).
    Leaders match case-insensitively; the fill carries the caller's spelling.
    """
    wanted = {leader.lower(): leader for leader in leaders}
    out: list[LeaderFill] = []
    for trade in sorted(trades, key=lambda t: (t.time_ms, t.trade_id)):
        if trade.buyer and trade.buyer.lower() == trade.seller.lower():
            continue  # a self-cross: bought and sold the same size, the position is unchanged
        for user, is_buy in ((trade.buyer, True), (trade.seller, False)):
            leader = wanted.get(user.lower()) if user else None
            if leader is None:
                continue
            key = (leader, trade.coin)
            start = positions.get(key, 0.0)
            end = start + (trade.size if is_buy else -trade.size)
            if abs(end) <= FLAT_TOLERANCE * (abs(start) + trade.size):
                end = 0.0  # 0.3 - 0.1 - 0.2 is flat, not a 5.6e-17 position
            positions[key] = end
            out.append(
                LeaderFill(
                    leader=leader,
                    coin=trade.coin,
                    price=trade.price,
                    size=trade.size,
                    is_buy=is_buy,
                    direction=_direction(start, end, is_buy),
                    start_position=start,
                    time_ms=trade.time_ms,
                    order_id=_order_id_of(trade, is_buy),
                    fill_id=str(trade.trade_id),
                    tx_hash=trade.tx_hash,
                )
            )
    return out
