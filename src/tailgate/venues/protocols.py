"""The small protocols every venue implements (SPEC §1); the simulator implements them too,
so the engine cannot tell a simulated venue from a real one.

Adapters parse venue JSON at the boundary: what cannot be parsed is returned as a
`RejectedPayload` with a reason code — never silently dropped, never raised into the engine.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Collection
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, runtime_checkable

from tailgate.domain.models import (
    LeaderboardEntry,
    LeaderFill,
    LeaderState,
    Market,
    OrderBook,
    OrderType,
    Side,
)
from tailgate.domain.reasons import ReasonCode

__all__ = [
    "AccountSnapshot",
    "AccountState",
    "FillPage",
    "LeaderFeed",
    "LeaderFillStream",
    "LeaderStreamEvent",
    "MarketData",
    "MarketDataStream",
    "OpenOrder",
    "OrderGateway",
    "OrderRequest",
    "OrderResult",
    "OrderStatus",
    "PayloadError",
    "PushedFills",
    "RejectedPayload",
    "StreamGap",
    "Venue",
    "VenueFill",
    "VenuePosition",
]


class PayloadError(ValueError):
    """A venue payload that cannot be turned into a domain object."""

    def __init__(self, reason: ReasonCode, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class RejectedPayload:
    reason: ReasonCode
    detail: str
    excerpt: str = ""  # a short, secret-free excerpt of the raw payload


@dataclass(frozen=True, slots=True)
class FillPage:
    """Leader fills in a time window, oldest first, plus what could not be parsed."""

    fills: list[LeaderFill]
    rejects: list[RejectedPayload] = field(default_factory=list)


class OrderStatus(StrEnum):
    FILLED = "filled"
    PARTIAL = "partial"  # IOC: part filled, rest cancelled
    REJECTED = "rejected"  # definitive venue answer
    OPEN = "open"  # resting (not used by IOC orders)
    CANCELLED = "cancelled"  # IOC with nothing filled


@dataclass(frozen=True, slots=True)
class OrderRequest:
    client_order_id: str
    coin: str
    is_buy: bool
    size: float  # coins, already rounded to the venue's lot
    limit_price: float  # worst acceptable price, already rounded to the venue's tick
    order_type: OrderType = OrderType.MARKET
    reduce_only: bool = False
    trigger_price: float | None = None  # set: a stop-market trigger order that rests
    nonce: int | None = None  # the signer's, strictly increasing (§E6); None: the venue needs none


@dataclass(frozen=True, slots=True)
class VenueFill:
    fill_id: str
    price: float
    size: float
    fee: float
    time_ms: int


@dataclass(frozen=True, slots=True)
class OrderResult:
    client_order_id: str
    status: OrderStatus
    filled_size: float = 0.0
    avg_price: float = 0.0
    fee: float = 0.0
    venue_order_id: str | None = None
    fills: tuple[VenueFill, ...] = ()
    reason: str = ""


@dataclass(frozen=True, slots=True)
class VenuePosition:
    coin: str
    side: Side
    size: float
    entry_price: float


@dataclass(frozen=True, slots=True)
class AccountSnapshot:
    account_value: float
    positions: tuple[VenuePosition, ...]
    time_ms: int


@dataclass(frozen=True, slots=True)
class OpenOrder:
    """An order of ours still resting at the venue, as the venue sees it (for reconciliation
    against our store)."""

    client_order_id: str
    coin: str
    is_buy: bool
    size: float
    trigger_price: float | None  # a stop's trigger; None for a plain limit order
    limit_price: float | None  # a resting limit's price; None for a stop-market


@runtime_checkable
class LeaderFeed(Protocol):
    """Where leaders and their trades come from (Hyperliquid: leaderboard, userFills…)."""

    async def leaderboard(self, window_days: int) -> list[LeaderboardEntry]: ...

    async def leader_fills(self, leader: str, start_ms: int, end_ms: int) -> FillPage: ...

    async def leader_state(self, leader: str) -> LeaderState: ...

    async def leader_portfolio(self, leader: str) -> list[tuple[int, float]]:
        """The leader's account value history, (time_ms, value) oldest first (~90 days)."""
        ...


@dataclass(frozen=True, slots=True)
class PushedFills:
    """New leader fills a stream delivered (never a subscription's replay of old ones)."""

    page: FillPage
    received_ns: int  # `time.perf_counter_ns()` when the message arrived: copy latency


@dataclass(frozen=True, slots=True)
class StreamGap:
    """The stream (re)connected: these leaders' fills since the last look may be missing, and
    must be read over REST (from the ingestion cursors) before streamed fills are trusted."""

    leaders: tuple[str, ...]


LeaderStreamEvent = PushedFills | StreamGap


@runtime_checkable
class LeaderFillStream(Protocol):
    """Leaders' fills pushed as they happen (Hyperliquid: the WebSocket). Optional: a venue
    without one is polled (§C2), and polling stays the safety net of one that has it."""

    async def follow(self, leaders: Collection[str]) -> None:
        """Stream these leaders' fills from now on (re-subscribes when the set changes)."""
        ...

    def events(self) -> AsyncIterator[LeaderStreamEvent]: ...

    @property
    def healthy(self) -> bool: ...

    async def close(self) -> None: ...


@runtime_checkable
class MarketDataStream(Protocol):
    """Books and mids pushed as they change (Hyperliquid: `l2Book`, `allMids`). Optional: a
    venue without one is read; reads stay the fallback of one that has it."""

    def deliver_to(
        self, on_book: Callable[[OrderBook], None], on_mids: Callable[[dict[str, float]], None]
    ) -> None:
        """Where pushed books and mids go (the engine's quote cache)."""
        ...

    async def watch(self, coins: Collection[str]) -> None:
        """Push the mids, and the books of these coins (re-subscribes when the set changes)."""
        ...

    async def close(self) -> None: ...


@runtime_checkable
class MarketData(Protocol):
    async def markets(self) -> list[Market]: ...

    async def mids(self) -> dict[str, float]: ...

    async def order_book(self, coin: str) -> OrderBook: ...


@runtime_checkable
class OrderGateway(Protocol):
    async def place_order(self, order: OrderRequest) -> OrderResult: ...

    async def order_by_client_id(self, client_order_id: str) -> OrderResult | None: ...

    async def cancel_order(self, client_order_id: str) -> bool:
        """Cancel a resting order (a stop); False when nothing rests under that id."""
        ...


@runtime_checkable
class AccountState(Protocol):
    async def account_snapshot(self) -> AccountSnapshot: ...

    async def open_orders(self) -> list[OpenOrder]:
        """Our orders resting at the venue now (stops included), by client order id."""
        ...


@runtime_checkable
class Venue(LeaderFeed, MarketData, OrderGateway, AccountState, Protocol):
    """A venue that is all four at once: the simulator, a replay of real history."""
