"""Reconciliation (SPEC §R1) as a table: every (our books, the venue's) pair and what to do.

| ours                 | the venue's               | drift            | repair                    |
|----------------------|---------------------------|------------------|---------------------------|
| open position        | no position               | MISSING_AT_VENUE | close ours at the mark    |
| no position          | a position                | UNKNOWN_LOCALLY  | adopt it, with a stop     |
| position, one side   | position, the other side  | SIDE             | close ours, adopt theirs  |
| position of size a   | same side, size b ≠ a     | SIZE             | adopt size b, new stop    |
| stop resting         | not resting               | STOP_MISSING     | settle it, owe a new stop |
| —                    | an order we never wrote   | ORDER_UNKNOWN    | record only (a stranger?) |
| equity e             | account value v           | ACCOUNT_VALUE    | record only               |

A difference counts only above the threshold in dollars (a size difference at the mark, a
missing stop at its notional); smaller ones are rounding. Coins with an order of ours in
flight are not judged: the venue may already show what our store will record a moment later.
Pure: the engine fetches both sides and acts on the verdicts.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from tailgate.domain.models import Side

__all__ = [
    "Drift",
    "DriftKind",
    "LocalPosition",
    "LocalStop",
    "VenueHolding",
    "VenueOrder",
    "compare",
]


class DriftKind(StrEnum):
    MISSING_AT_VENUE = "position_missing_at_venue"
    UNKNOWN_LOCALLY = "position_unknown_locally"
    SIDE = "position_side"
    SIZE = "position_size"
    STOP_MISSING = "stop_missing_at_venue"
    ORDER_UNKNOWN = "order_unknown_locally"
    ACCOUNT_VALUE = "account_value"


@dataclass(frozen=True, slots=True)
class LocalPosition:
    id: int
    coin: str
    side: Side
    size: float
    entry_price: float


@dataclass(frozen=True, slots=True)
class LocalStop:
    client_order_id: str
    position_id: int | None
    coin: str
    size: float
    trigger_price: float


@dataclass(frozen=True, slots=True)
class VenueHolding:
    coin: str
    side: Side
    size: float
    entry_price: float


@dataclass(frozen=True, slots=True)
class VenueOrder:
    client_order_id: str
    coin: str
    size: float


@dataclass(frozen=True, slots=True)
class Drift:
    kind: DriftKind
    coin: str | None
    local: str
    venue: str
    diff_usd: float
    position_id: int | None = None  # ours, when the drift is about one of our positions
    client_order_id: str | None = None


def compare(
    *,
    positions: Sequence[LocalPosition],
    stops: Sequence[LocalStop],
    holdings: Sequence[VenueHolding],
    venue_orders: Sequence[VenueOrder],
    known_order_ids: Collection[str],
    marks: Mapping[str, float],
    local_equity: float,
    venue_value: float,
    threshold_usd: float,
    in_flight_coins: Collection[str] = (),
) -> list[Drift]:
    """Every difference above `threshold_usd`, positions first, in coin order."""
    drifts: list[Drift] = []
    ours: dict[str, list[LocalPosition]] = {}
    for p in positions:
        ours.setdefault(p.coin, []).append(p)
    theirs = {h.coin: h for h in holdings}
    for coin in sorted(set(ours) | set(theirs)):
        if coin in in_flight_coins:
            continue
        mine, held = ours.get(coin, []), theirs.get(coin)
        drifts.extend(_position_drifts(coin, mine, held, marks, threshold_usd))
    resting = {o.client_order_id for o in venue_orders}
    for stop in sorted(stops, key=lambda s: s.client_order_id):
        if stop.client_order_id in resting or stop.coin in in_flight_coins:
            continue
        value = stop.size * marks.get(stop.coin, stop.trigger_price)
        if value > threshold_usd:
            drifts.append(
                Drift(
                    DriftKind.STOP_MISSING,
                    stop.coin,
                    f"stop {stop.size:g} @ {stop.trigger_price:g}",
                    "not resting",
                    value,
                    stop.position_id,
                    stop.client_order_id,
                )
            )
    for order in sorted(venue_orders, key=lambda o: o.client_order_id):
        if order.client_order_id in known_order_ids:
            continue
        value = order.size * marks.get(order.coin, 0.0)
        drifts.append(
            Drift(
                DriftKind.ORDER_UNKNOWN,
                order.coin,
                "no such order",
                f"resting {order.size:g}",
                value,
                client_order_id=order.client_order_id,
            )
        )
    if abs(local_equity - venue_value) > threshold_usd and not in_flight_coins:
        drifts.append(
            Drift(
                DriftKind.ACCOUNT_VALUE,
                None,
                f"{local_equity:.2f}",
                f"{venue_value:.2f}",
                abs(local_equity - venue_value),
            )
        )
    return drifts


def _position_drifts(
    coin: str,
    mine: list[LocalPosition],
    held: VenueHolding | None,
    marks: Mapping[str, float],
    threshold_usd: float,
) -> list[Drift]:
    mark = marks.get(coin)
    net = sum(p.size * p.side.sign for p in mine)
    if held is None:
        if not mine:
            return []
        value = abs(net) * (mark if mark is not None else mine[0].entry_price)
        if value <= threshold_usd:
            return []
        return [
            Drift(DriftKind.MISSING_AT_VENUE, coin, _describe(mine), "flat", value, p.id)
            for p in mine
        ]
    price = mark if mark is not None else held.entry_price
    venue_desc = f"{held.side.value} {held.size:g} @ {held.entry_price:g}"
    if not mine:
        value = held.size * price
        if value <= threshold_usd:
            return []
        return [Drift(DriftKind.UNKNOWN_LOCALLY, coin, "flat", venue_desc, value)]
    signed = held.size * held.side.sign
    if (net > 0) != (signed > 0) and net != 0:
        value = (abs(net) + held.size) * price
        return [Drift(DriftKind.SIDE, coin, _describe(mine), venue_desc, value, mine[0].id)]
    value = abs(abs(net) - held.size) * price
    if value <= threshold_usd:
        return []
    return [Drift(DriftKind.SIZE, coin, _describe(mine), venue_desc, value, mine[0].id)]


def _describe(positions: list[LocalPosition]) -> str:
    return "; ".join(f"#{p.id} {p.side.value} {p.size:g} @ {p.entry_price:g}" for p in positions)
