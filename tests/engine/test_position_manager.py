"""§C5 in the engine: a leader who vanishes without a Close is a liquidation (our copy closed,
the leader blacklisted for 14 days); one who vanishes after a Close is not."""

from __future__ import annotations

import asyncio

import pytest

from tailgate.domain.models import MS_PER_DAY, MS_PER_MINUTE, LeaderFill, LeaderPosition, Side
from tailgate.domain.orders import IllegalTransition
from tailgate.engine.execution import client_order_id
from tailgate.store import Store
from tailgate.store.records import OrderPurpose, OrderState, PositionStatus
from tailgate.venues.protocols import OrderStatus
from tests.engine.scripted import LEADER, T0, build_rig, entry_order


@pytest.fixture
def world(tmp_path):
    store = Store.open(f"sqlite:///{tmp_path}/pm.db")
    rig = build_rig(store)
    rig.venue.leader_positions = (LeaderPosition("ETH", Side.LONG, 50.0, 2_990.0, 3.0),)
    entry = entry_order(client_order_id("paper", "t1"), size=2.0)
    store.insert_order(entry)
    asyncio.run(rig.executor.execute(entry, T0))
    (position,) = rig.portfolio.open_positions
    asyncio.run(rig.manager.protect(position, T0))
    yield store, rig.venue, rig.manager, rig.portfolio, rig.leaders, position
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
    store = Store.open(f"sqlite:///{tmp_path}/once.db")
    rig = build_rig(store)
    order = entry_order("0xonce")
    store.insert_order(order)
    asyncio.run(rig.executor.execute(order, T0))
    assert order.state is OrderState.FILLED and len(rig.venue.orders) == 1
    with pytest.raises(IllegalTransition):
        asyncio.run(rig.executor.execute(order, T0 + 1))
    assert len(rig.venue.orders) == 1  # refused before the venue heard of it
    assert store.order_by_client_id("0xonce").state is OrderState.FILLED
    store.close()
