"""A scripted venue and an engine rig around it, for engine tests that need exact control of
what the venue says (the leader's state and fills, our fills at one mark)."""

from __future__ import annotations

from dataclasses import dataclass

from tailgate.domain.models import (
    LeaderFill,
    LeaderPosition,
    LeaderState,
    Market,
    OrderType,
    Side,
)
from tailgate.domain.params import CopyParams
from tailgate.engine.execution import OrderExecutor
from tailgate.engine.leaders import LeaderBook
from tailgate.engine.portfolio import Portfolio
from tailgate.engine.positions import PositionManager
from tailgate.store import Store
from tailgate.store.records import OrderPurpose, OrderRecord, OrderState
from tailgate.venues.protocols import (
    AccountSnapshot,
    FillPage,
    OpenOrder,
    OrderRequest,
    OrderResult,
    OrderStatus,
    VenueFill,
    VenuePosition,
)

LEADER = "0x" + "1" * 40
T0 = 1_740_000_000_000
MARKETS = {"ETH": Market("ETH", 4, 25)}


class ScriptedVenue:
    """Just enough venue: the leader's state and fills are set by the test; orders fill at mark."""

    def __init__(self) -> None:
        self.mark = 3_000.0
        self.leader_positions: tuple[LeaderPosition, ...] = ()
        self.fills: list[LeaderFill] = []
        self.orders: dict[str, OrderResult] = {}
        self.requests: dict[str, OrderRequest] = {}
        self.holdings: dict[str, float] = {}  # coin → signed size, moved by our fills
        self.cash = 100_000.0

    async def mids(self):
        return {"ETH": self.mark}

    async def leader_state(self, leader):
        return LeaderState(leader, 500_000.0, self.leader_positions, T0)

    async def leader_fills(self, leader, start_ms, end_ms):
        return FillPage([f for f in self.fills if start_ms <= f.time_ms < end_ms])

    async def place_order(self, order):
        self.requests[order.client_order_id] = order
        if order.trigger_price is not None:
            result = OrderResult(order.client_order_id, OrderStatus.OPEN)
        else:
            fill = VenueFill(f"f-{order.client_order_id}", self.mark, order.size, 1.0, T0)
            signed = order.size if order.is_buy else -order.size
            self.holdings[order.coin] = round(self.holdings.get(order.coin, 0.0) + signed, 9)
            self.cash -= 1.0
            result = OrderResult(
                order.client_order_id, OrderStatus.FILLED, order.size, self.mark, 1.0, "v1", (fill,)
            )
        self.orders[order.client_order_id] = result
        return result

    async def order_by_client_id(self, cid):
        return self.orders.get(cid)

    async def cancel_order(self, cid):
        if cid in self.orders and self.orders[cid].status is OrderStatus.OPEN:
            self.orders[cid] = OrderResult(cid, OrderStatus.CANCELLED, reason="cancelled")
            return True
        return False

    async def account_snapshot(self):
        """Our positions at the venue (entry at the mark: the scripted venue keeps no cost)."""
        positions = tuple(
            VenuePosition(coin, Side.of(size), abs(size), self.mark)
            for coin, size in sorted(self.holdings.items())
            if size
        )
        return AccountSnapshot(self.cash, positions, T0)

    async def open_orders(self):
        """The orders whose answer is OPEN (the stops), as the venue would list them."""
        out = []
        for cid, result in sorted(self.orders.items()):
            if result.status is OrderStatus.OPEN:
                o = self.requests[cid]
                limit = None if o.trigger_price is not None else o.limit_price
                out.append(OpenOrder(cid, o.coin, o.is_buy, o.size, o.trigger_price, limit))
        return out


@dataclass
class Rig:
    store: Store
    venue: ScriptedVenue
    portfolio: Portfolio
    executor: OrderExecutor
    leaders: LeaderBook
    manager: PositionManager


def build_rig(store: Store, params: CopyParams | None = None) -> Rig:
    """The real executor, leader book and position manager over a scripted venue."""
    params = params or CopyParams()
    venue = ScriptedVenue()
    portfolio = Portfolio("paper", store.ensure_account("paper", 100_000.0, T0), [])
    executor = OrderExecutor(venue, store, MARKETS, portfolio, params)
    leaders = LeaderBook(venue, store, params, MARKETS)
    manager = PositionManager(
        store=store,
        feed=venue,
        market=venue,
        executor=executor,
        portfolio=portfolio,
        leaders=leaders,
        params=params,
        markets=MARKETS,
    )
    return Rig(store, venue, portfolio, executor, leaders, manager)


def entry_order(
    client_order_id: str,
    *,
    size: float = 1.0,
    state: OrderState = OrderState.PENDING,
    created_ms: int = T0,
) -> OrderRecord:
    """A marketable ETH buy copying LEADER."""
    return OrderRecord(
        client_order_id=client_order_id,
        account="paper",
        coin="ETH",
        is_buy=True,
        size=size,
        limit_price=3_015.0,
        order_type=OrderType.MARKET,
        purpose=OrderPurpose.ENTRY,
        state=state,
        created_ms=created_ms,
        updated_ms=created_ms,
        leader=LEADER,
    )
