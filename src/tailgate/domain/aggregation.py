"""Fills of one leader order → one leader trade (SPEC §C2).

A venue reports an order as several fills. We copy trades, not fills, so the fills of one
order are folded into one `LeaderTrade` whose action (Open / Add / Reduce / Close) is read from
the leader's signed position before and after the order — not from the venue's `dir` text,
which is one more thing to parse and can disagree with the numbers.

A flip (long → short or short → long in one order) is two trades: a Close of the old side,
then an Open of the new side. They share the order id; their `key`s differ by action.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from tailgate.domain.models import Action, LeaderFill, LeaderTrade, Side

__all__ = ["FLAT_TOLERANCE", "TradeLeg", "aggregate_fills", "classify_fill_action"]

FLAT_TOLERANCE = 1e-9
"""A position within this fraction of the sizes involved is flat: 0.3 − 0.1 − 0.2 is not a
5.6e-17 coin position left open, it is a Close."""

# Ordering of the two trades a flip makes (and a stable order for everything else).
_ACTION_RANK = {Action.CLOSE: 0, Action.REDUCE: 1, Action.ADD: 2, Action.OPEN: 3}


class TradeLeg(NamedTuple):
    """One trade implied by a change of position: what it did, to which side, how many coins."""

    action: Action
    side: Side
    size: float


def classify_fill_action(start_position: float, end_position: float) -> tuple[TradeLeg, ...]:
    """The trade legs that take a signed position from `start_position` to `end_position`.

    Open (from flat), Close (to flat), Add (same side, larger), Reduce (same side, smaller):
    one leg each. A sign flip: Close of the old side (size |start|), then Open of the new side
    (size |end|). No change: no legs.
    """
    if end_position == start_position:
        return ()
    if start_position == 0:
        return (TradeLeg(Action.OPEN, Side.of(end_position), abs(end_position)),)
    side = Side.of(start_position)
    if end_position == 0:
        return (TradeLeg(Action.CLOSE, side, abs(start_position)),)
    if (start_position > 0) != (end_position > 0):
        return (
            TradeLeg(Action.CLOSE, side, abs(start_position)),
            TradeLeg(Action.OPEN, side.opposite, abs(end_position)),
        )
    change = abs(end_position) - abs(start_position)
    if change > 0:
        return (TradeLeg(Action.ADD, side, change),)
    return (TradeLeg(Action.REDUCE, side, -change),)


def aggregate_fills(fills: Iterable[LeaderFill]) -> list[LeaderTrade]:
    """Group fills by (leader, order id) into trades, sorted by (time, order id, Close first).

    Per order: start position of its first fill (by time, then input order); end position =
    start + signed sum of sizes (snapped to flat within `FLAT_TOLERANCE`); price = size-weighted
    average; time = first fill's time; `closed_pnl` summed; `fill_keys` = the fills' dedupe
    keys. In a flip the Close carries the fill keys and the closed PnL (each dedupe key belongs
    to one trade only) and the Open carries none.

    Raises ValueError if the fills of one order name different coins (the venue never does
    this; validation should have caught it).
    """
    orders: dict[tuple[str, int], list[LeaderFill]] = {}
    for fill in fills:
        orders.setdefault((fill.leader, fill.order_id), []).append(fill)

    trades: list[LeaderTrade] = []
    for (leader, order_id), group in orders.items():
        group.sort(key=_fill_time)  # stable: ties keep input (fill) order
        trades.extend(_order_trades(leader, order_id, group))
    trades.sort(key=lambda t: (t.time_ms, t.order_id, _ACTION_RANK[t.action], t.leader))
    return trades


def _fill_time(fill: LeaderFill) -> int:
    return fill.time_ms


def _order_trades(leader: str, order_id: int, group: list[LeaderFill]) -> list[LeaderTrade]:
    first = group[0]
    coin = first.coin
    total_size = 0.0
    notional = 0.0
    signed = 0.0
    closed_pnl = 0.0
    liquidation = False
    for fill in group:
        if fill.coin != coin:
            raise ValueError(
                f"order {order_id} of {leader} has fills in {coin} and {fill.coin}; "
                "fills of one order must share a coin"
            )
        total_size += fill.size
        notional += fill.size * fill.price
        signed += fill.size if fill.is_buy else -fill.size
        closed_pnl += fill.closed_pnl
        liquidation = liquidation or fill.liquidation
    if total_size <= 0:
        return []
    start = first.start_position
    end = start + signed
    if abs(end) <= FLAT_TOLERANCE * (abs(start) + total_size):
        end = 0.0
    legs = classify_fill_action(start, end)
    price = notional / total_size
    fill_keys = tuple(f.dedupe_key for f in group)

    if len(legs) == 1:
        (leg,) = legs
        return [
            LeaderTrade(
                leader=leader,
                coin=coin,
                side=leg.side,
                action=leg.action,
                size=leg.size,
                price=price,
                time_ms=first.time_ms,
                order_id=order_id,
                start_position=start,
                end_position=end,
                fill_keys=fill_keys,
                closed_pnl=closed_pnl,
                liquidation=liquidation,
            )
        ]
    if len(legs) == 2:
        close, open_ = legs
        return [
            LeaderTrade(
                leader=leader,
                coin=coin,
                side=close.side,
                action=close.action,
                size=close.size,
                price=price,
                time_ms=first.time_ms,
                order_id=order_id,
                start_position=start,
                end_position=0.0,
                fill_keys=fill_keys,
                closed_pnl=closed_pnl,
                liquidation=liquidation,
            ),
            LeaderTrade(
                leader=leader,
                coin=coin,
                side=open_.side,
                action=open_.action,
                size=open_.size,
                price=price,
                time_ms=first.time_ms,
                order_id=order_id,
                start_position=0.0,
                end_position=end,
            ),
        ]
    return []  # the order left the position where it was (buys and sells netted out)
