"""§C5 in the engine: a leader who vanishes without a Close is a liquidation (our copy closed,
the leader blacklisted for 14 days); one who vanishes after a Close is not."""

from __future__ import annotations

import asyncio

import pytest

from tailgate.domain.models import (
    MS_PER_DAY,
    MS_PER_MINUTE,
    LeaderFill,
    LeaderPosition,
    LeaderState,
    Market,
    OrderType,
    Side,
)
from tailgate.domain.params import CopyParams
from tailgate.engine.execution import OrderExecutor, client_order_id
from tailgate.engine.leaders import LeaderBook
from tailgate.engine.portfolio import Portfolio
from tailgate.engine.positions import PositionManager
from tailgate.store import Store
from tailgate.store.records import OrderPurpose, OrderRecord, OrderState, PositionStatus
from tailgate.venues.protocols import FillPage, OrderResult, OrderStatus, VenueFill

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

    async def mids(self):
        return {"ETH": self.mark}

    async def leader_state(self, leader):
        return LeaderState(leader, 500_000.0, self.leader_positions, T0)

    async def leader_fills(self, leader, start_ms, end_ms):
        return FillPage([f for f in self.fills if start_ms <= f.time_ms < end_ms])

    async def place_order(self, order):
        if order.trigger_price is not None:
            result = OrderResult(order.client_order_id, OrderStatus.OPEN)
        else:
            fill = VenueFill(f"f-{order.client_order_id}", self.mark, order.size, 1.0, T0)
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


@pytest.fixture
def world(tmp_path):
    store = Store.open(f"sqlite:///{tmp_path}/pm.db")
    venue = ScriptedVenue()
    params = CopyParams()
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
    venue.leader_positions = (LeaderPosition("ETH", Side.LONG, 50.0, 2_990.0, 3.0),)
    entry = OrderRecord(
        client_order_id=client_order_id("paper", "t1"),
        account="paper",
        coin="ETH",
        is_buy=True,
        size=2.0,
        limit_price=3_015.0,
        order_type=OrderType.MARKET,
        purpose=OrderPurpose.ENTRY,
        state=OrderState.PENDING,
        created_ms=T0,
        updated_ms=T0,
        leader=LEADER,
    )
    store.insert_order(entry)
    asyncio.run(executor.execute(entry, T0))
    (position,) = portfolio.open_positions
    asyncio.run(manager.protect(position, T0))
    yield store, venue, manager, portfolio, leaders, position
    store.close()


def test_entry_gets_a_stop_at_95_percent_resting_at_the_venue(world):
    store, venue, _, _, _, position = world
    assert position.stop_price == pytest.approx(2_850.0)  # 3,000 → 5 % below
    (stop,) = [o for o in store.load_orders() if o.purpose is OrderPurpose.STOP]
    assert stop.state is OrderState.SUBMITTED and stop.trigger_price == pytest.approx(2_850.0)
    assert venue.orders[stop.client_order_id].status is OrderStatus.OPEN


def test_leader_vanishing_without_a_close_closes_ours_and_blacklists_them_14_days(world):
    store, venue, manager, portfolio, leaders, _position = world
    venue.leader_positions = ()  # gone, and no Close fill explains it
    now = T0 + 10 * MS_PER_MINUTE
    asyncio.run(manager.monitor(now))
    assert portfolio.open_positions == []
    closed = store.load_positions(status=PositionStatus.CLOSED)[0]
    assert closed.close_reason == "TRADER_LIQUIDATED"
    assert leaders.get(LEADER).blacklisted_until_ms == now + 14 * MS_PER_DAY
    stored = {t.address: t for t in store.load_leaders()}[LEADER]
    assert stored.blacklisted_until_ms == now + 14 * MS_PER_DAY
    stops = [o for o in store.load_orders() if o.purpose is OrderPurpose.STOP]
    assert all(o.state is not OrderState.SUBMITTED for o in stops)  # the stop was cancelled


def test_leader_vanishing_after_a_close_is_not_a_liquidation(world):
    _store, venue, manager, portfolio, leaders, _ = world
    venue.leader_positions = ()
    venue.fills = [
        LeaderFill(
            leader=LEADER,
            coin="ETH",
            price=3_010.0,
            size=50.0,
            is_buy=False,
            direction="Close Long",
            start_position=50.0,
            time_ms=T0 + 5 * MS_PER_MINUTE,
            order_id=9,
            fill_id="c9",
        )
    ]
    asyncio.run(manager.monitor(T0 + 10 * MS_PER_MINUTE))
    assert len(portfolio.open_positions) == 1  # the leader-exit mirror handles a Close
    assert leaders.get(LEADER) is None or leaders.get(LEADER).blacklisted_until_ms is None


def test_time_stop_closes_at_72_hours(world):
    store, _venue, manager, portfolio, _, _ = world
    asyncio.run(manager.monitor(T0 + 71 * 3_600_000))
    assert len(portfolio.open_positions) == 1
    asyncio.run(manager.monitor(T0 + 73 * 3_600_000))
    assert portfolio.open_positions == []
    assert store.load_positions(status=PositionStatus.CLOSED)[0].close_reason == "TIME_STOP"


def test_a_profit_tier_takes_a_quarter_once_and_re_protects_the_rest(world):
    store, venue, manager, _portfolio, _, position = world
    venue.mark = 3_300.0  # +10 %
    asyncio.run(manager.monitor(T0 + MS_PER_MINUTE))
    assert position.size == pytest.approx(1.5)  # 2.0 − 25 %
    asyncio.run(manager.monitor(T0 + 2 * MS_PER_MINUTE))
    assert position.size == pytest.approx(1.5)  # once
    live = [o for o in store.load_orders([OrderState.SUBMITTED]) if o.purpose is OrderPurpose.STOP]
    assert len(live) == 1 and live[0].size == pytest.approx(1.5)


def test_an_order_that_already_has_a_fate_can_never_be_sent_again(tmp_path):
    from tailgate.domain.orders import IllegalTransition

    store = Store.open(f"sqlite:///{tmp_path}/once.db")
    venue = ScriptedVenue()
    portfolio = Portfolio("paper", store.ensure_account("paper", 100_000.0, T0), [])
    executor = OrderExecutor(venue, store, MARKETS, portfolio, CopyParams())
    order = OrderRecord(
        client_order_id="0xonce",
        account="paper",
        coin="ETH",
        is_buy=True,
        size=1.0,
        limit_price=3_015.0,
        order_type=OrderType.MARKET,
        purpose=OrderPurpose.ENTRY,
        state=OrderState.PENDING,
        created_ms=T0,
        updated_ms=T0,
        leader=LEADER,
    )
    store.insert_order(order)
    asyncio.run(executor.execute(order, T0))
    assert order.state is OrderState.FILLED and len(venue.orders) == 1
    with pytest.raises(IllegalTransition):
        asyncio.run(executor.execute(order, T0 + 1))
    assert len(venue.orders) == 1  # refused before the venue heard of it
    assert store.order_by_client_id("0xonce").state is OrderState.FILLED
    store.close()
