"""Records and domain objects ⇄ row dictionaries; the store's only translation layer.

Enums are written as their values (psycopg would otherwise send a member's *name*) and read
back into the domain's enums, so nothing above the store ever sees a raw column string where
the domain has a type — except `StoredSignal`, which is a report row by design.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import fields
from enum import Enum
from typing import Any, TypeVar

from tailgate.domain.followers import Follower, Subscription
from tailgate.domain.models import Action, LeaderTrade, OrderType, Side, Tier, Trader, TraderStyle
from tailgate.domain.signals import Signal
from tailgate.store.records import (
    DiscrepancyRecord,
    FillRecord,
    LeaderPositionRecord,
    ObligationKind,
    ObligationRecord,
    ObligationStatus,
    OrderPurpose,
    OrderRecord,
    OrderState,
    PositionRecord,
    PositionStatus,
    StoredSignal,
)

__all__ = [
    "OBLIGATION_COLUMNS",
    "ORDER_COLUMNS",
    "POSITION_COLUMNS",
    "TRADER_COLUMNS",
    "chunks",
    "discrepancy_record",
    "discrepancy_values",
    "fill_record",
    "fill_values",
    "leader_position_record",
    "leader_position_values",
    "leader_trade",
    "obligation_record",
    "obligation_values",
    "order_record",
    "order_values",
    "plain",
    "position_record",
    "position_values",
    "signal_values",
    "stored_signal",
    "trade_values",
    "trader",
    "trader_values",
]

T = TypeVar("T")
Row = Mapping[str, Any]

OBLIGATION_COLUMNS = tuple(f.name for f in fields(ObligationRecord) if f.name != "id")
DISCREPANCY_COLUMNS = tuple(f.name for f in fields(DiscrepancyRecord) if f.name != "id")
ORDER_COLUMNS = tuple(f.name for f in fields(OrderRecord) if f.name != "id")
POSITION_COLUMNS = tuple(f.name for f in fields(PositionRecord) if f.name != "id")
TRADER_COLUMNS = tuple(f.name for f in fields(Trader))


def plain(value: Any) -> Any:
    """An enum's value; anything else unchanged."""
    return value.value if isinstance(value, Enum) else value


def _values(record: Any, columns: Iterable[str]) -> dict[str, Any]:
    return {name: plain(getattr(record, name)) for name in columns}


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- leaders -----------------------------------------------------------------------------------


def trader_values(trader_: Trader, updated_ms: int) -> dict[str, Any]:
    return {**_values(trader_, TRADER_COLUMNS), "updated_ms": updated_ms}


def trader(row: Row) -> Trader:
    data = {name: row[name] for name in TRADER_COLUMNS}
    data["style"] = TraderStyle(data["style"]) if data["style"] is not None else None
    data["tier"] = Tier(data["tier"])
    data["score_components"] = dict(data["score_components"] or {})
    return Trader(**data)


def leader_position_values(position: LeaderPositionRecord) -> dict[str, Any]:
    return {
        "leader": position.leader,
        "coin": position.coin,
        "side": position.side.value,
        "size": position.size,
        "opened_ms": position.opened_ms,
        "updated_ms": position.updated_ms,
    }


def leader_position_record(row: Row) -> LeaderPositionRecord:
    return LeaderPositionRecord(
        leader=row["leader"],
        coin=row["coin"],
        side=Side(row["side"]),
        size=row["size"],
        opened_ms=row["opened_ms"],
        updated_ms=row["updated_ms"],
    )


# --- leader trades and signals -----------------------------------------------------------------


def trade_values(trade: LeaderTrade, seen_ms: int) -> dict[str, Any]:
    return {
        "trade_key": trade.key,
        "leader": trade.leader,
        "coin": trade.coin,
        "side": trade.side.value,
        "action": trade.action.value,
        "size": trade.size,
        "price": trade.price,
        "value_usd": trade.value_usd,
        "time_ms": trade.time_ms,
        "order_id": trade.order_id,
        "start_position": trade.start_position,
        "end_position": trade.end_position,
        "closed_pnl": trade.closed_pnl,
        "seen_ms": seen_ms,
    }


def leader_trade(row: Row) -> LeaderTrade:
    """The trade as recorded; its fill keys live in `leader_fills_seen` and are not loaded."""
    return LeaderTrade(
        leader=row["leader"],
        coin=row["coin"],
        side=Side(row["side"]),
        action=Action(row["action"]),
        size=row["size"],
        price=row["price"],
        time_ms=row["time_ms"],
        order_id=row["order_id"],
        start_position=row["start_position"],
        end_position=row["end_position"],
        closed_pnl=row["closed_pnl"],
    )


def signal_values(signal: Signal, leader_trade_id: int, evaluated_ms: int) -> dict[str, Any]:
    trade = signal.trade
    return {
        "leader_trade_id": leader_trade_id,
        "leader": trade.leader,
        "coin": trade.coin,
        "action": trade.action.value,
        "outcome": signal.outcome.value,
        "reason": str(signal.reason),
        "evaluated_ms": evaluated_ms,
        "steps": [
            {
                "step": d.step,
                "name": d.name,
                "passed": d.passed,
                "reason": str(d.reason),
                "detail": d.detail,
            }
            for d in signal.steps
        ],
        "size_usd": signal.size_usd,
        "order_type": plain(signal.order_type),
        "limit_price": signal.limit_price,
        "defer_until_ms": signal.defer_until_ms,
        "actionable_ms": signal.actionable_ms,
    }


def stored_signal(row: Row) -> StoredSignal:
    return StoredSignal(
        id=row["id"],
        leader_trade_id=row["leader_trade_id"],
        leader=row["leader"],
        coin=row["coin"],
        action=row["action"],
        outcome=row["outcome"],
        reason=row["reason"],
        evaluated_ms=row["evaluated_ms"],
        steps=list(row["steps"]),
        size_usd=row["size_usd"],
        order_type=row["order_type"],
        limit_price=row["limit_price"],
    )


# --- orders, fills, positions ------------------------------------------------------------------


def order_values(order: OrderRecord) -> dict[str, Any]:
    return _values(order, ORDER_COLUMNS)


def order_record(row: Row) -> OrderRecord:
    data = dict(row)
    data["order_type"] = OrderType(data["order_type"])
    data["purpose"] = OrderPurpose(data["purpose"])
    data["state"] = OrderState(data["state"])
    return OrderRecord(**data)


def position_values(position: PositionRecord) -> dict[str, Any]:
    return _values(position, POSITION_COLUMNS)


def position_record(row: Row) -> PositionRecord:
    data = dict(row)
    data["side"] = Side(data["side"])
    data["status"] = PositionStatus(data["status"])
    return PositionRecord(**data)


def fill_values(fill: FillRecord, order_id: int) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "fill_id": fill.fill_id,
        "price": fill.price,
        "size": fill.size,
        "fee": fill.fee,
        "time_ms": fill.time_ms,
    }


def fill_record(row: Row) -> FillRecord:
    return FillRecord(**row)


def obligation_values(obligation: ObligationRecord) -> dict[str, Any]:
    return _values(obligation, OBLIGATION_COLUMNS)


def obligation_record(row: Row) -> ObligationRecord:
    data = dict(row)
    data["kind"] = ObligationKind(data["kind"])
    data["status"] = ObligationStatus(data["status"])
    return ObligationRecord(**data)


def discrepancy_values(discrepancy: DiscrepancyRecord) -> dict[str, Any]:
    return _values(discrepancy, DISCREPANCY_COLUMNS)


def discrepancy_record(row: Row) -> DiscrepancyRecord:
    return DiscrepancyRecord(**dict(row))


# --- followers -----------------------------------------------------------------------------------

FOLLOWER_COLUMNS = tuple(f.name for f in fields(Follower))
SUBSCRIPTION_COLUMNS = tuple(f.name for f in fields(Subscription))


def follower_values(follower_: Follower) -> dict[str, Any]:
    return _values(follower_, FOLLOWER_COLUMNS)


def follower(row: Row) -> Follower:
    return Follower(**{name: row[name] for name in FOLLOWER_COLUMNS})


def subscription_values(subscription_: Subscription) -> dict[str, Any]:
    return _values(subscription_, SUBSCRIPTION_COLUMNS)


def subscription(row: Row) -> Subscription:
    return Subscription(**{name: row[name] for name in SUBSCRIPTION_COLUMNS})
