"""What the store keeps, as plain records: the engine builds them, the repository persists them.

The repository holds no trading logic; how a fill changes a position is decided in the domain
and the engine, and arrives here as a finished `PositionRecord`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from tailgate.domain.models import LeaderTrade, OrderType, Side
from tailgate.domain.orders import OrderState  # the state machine lives in the domain

__all__ = [
    "DeferredRecord",
    "DiscrepancyRecord",
    "FillRecord",
    "LeaderPositionRecord",
    "ObligationKind",
    "ObligationRecord",
    "ObligationStatus",
    "OrderPurpose",
    "OrderRecord",
    "OrderState",
    "PositionRecord",
    "PositionStatus",
    "RecordedTrade",
    "StoredSignal",
]


class OrderPurpose(StrEnum):
    ENTRY = "entry"
    EXIT = "exit"
    STOP = "stop"  # the protective stop resting at the venue (a trigger order)


class PositionStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class ObligationKind(StrEnum):
    """Work that must follow a fill (SPEC §E5)."""

    PROTECT = "protect_position"  # an open position's stop must rest at the venue
    CLOSE = "close_position"  # a position we decided to close must end up closed


class ObligationStatus(StrEnum):
    OPEN = "open"
    DONE = "done"


@dataclass(slots=True)
class OrderRecord:
    client_order_id: str  # deterministic: derived from what caused the order
    account: str
    coin: str
    is_buy: bool
    size: float
    limit_price: float
    order_type: OrderType
    purpose: OrderPurpose
    state: OrderState
    created_ms: int
    updated_ms: int
    reduce_only: bool = False
    signal_id: int | None = None
    position_id: int | None = None
    leader: str | None = None
    price_source: str | None = None
    reason: str | None = None
    venue_order_id: str | None = None
    filled_size: float = 0.0
    avg_price: float = 0.0
    fee: float = 0.0
    trigger_price: float | None = None  # stop orders: the price that triggers them
    leader_trade_id: int | None = None  # the leader trade an entry copies
    id: int | None = None


@dataclass(slots=True)
class FillRecord:
    fill_id: str  # the venue's id; unique
    price: float
    size: float
    fee: float
    time_ms: int
    order_id: int | None = None
    id: int | None = None


@dataclass(slots=True)
class PositionRecord:
    account: str
    coin: str
    side: Side
    size: float  # coins, > 0 while open
    entry_price: float
    opened_ms: int
    status: PositionStatus = PositionStatus.OPEN
    leader: str | None = None
    leader_trade_id: int | None = None
    fees_paid: float = 0.0
    realized_pnl: float = 0.0  # net of fees
    closed_ms: int | None = None
    exit_price: float | None = None
    close_reason: str | None = None
    # position management (SPEC §C5)
    stop_price: float | None = None
    trailing_stop: float | None = None
    extreme_price: float | None = None  # highest (long) / lowest (short) price since entry
    tiers_taken: int = 0  # bitmask of profit tiers already taken
    id: int | None = None

    @property
    def notional_at_entry(self) -> float:
        return self.size * self.entry_price


@dataclass(slots=True)
class LeaderPositionRecord:
    """A leader's position as we track it from their trades (for Add windows and re-checks)."""

    leader: str
    coin: str
    side: Side
    size: float
    opened_ms: int
    updated_ms: int


@dataclass(slots=True)
class DeferredRecord:
    id: int
    signal_id: int
    leader_trade_id: int
    trade: LeaderTrade
    due_ms: int


@dataclass(frozen=True, slots=True)
class RecordedTrade:
    trade_id: int
    signal_id: int
    deferred_id: int | None = None
    order_id: int | None = None


@dataclass(frozen=True, slots=True)
class StoredSignal:
    id: int
    leader_trade_id: int
    leader: str
    coin: str
    action: str
    outcome: str
    reason: str
    evaluated_ms: int
    steps: list[dict[str, object]]
    size_usd: float
    order_type: str | None
    limit_price: float | None


@dataclass(slots=True)
class ObligationRecord:
    """An obligation (SPEC §E5); `key` names its cause, so it is written once."""

    key: str
    kind: ObligationKind
    account: str
    position_id: int | None
    created_ms: int
    due_ms: int
    reason: str | None = None
    status: ObligationStatus = ObligationStatus.OPEN
    attempts: int = 0
    last_error: str | None = None
    done_ms: int | None = None
    id: int | None = None


@dataclass(slots=True)
class DiscrepancyRecord:
    """A difference between our books and the venue's (SPEC §R1) and its resolution."""

    account: str
    run_ms: int
    kind: str
    coin: str | None
    local: str
    venue: str
    diff_usd: float
    resolution: str
    id: int | None = None
