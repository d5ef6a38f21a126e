"""§C5 in the engine: a leader who vanishes without a Close is a liquidation (our copy closed,
the leader blacklisted for 14 days); one who vanishes after a Close is not."""

from __future__ import annotations

import asyncio

import pytest

from tailgate.domain.models import MS_PER_DAY, MS_PER_MINUTE, LeaderFill, LeaderPosition, Side
from tailgate.domain.orders import IllegalTransition
from tailgate.domain.params import CopyParams
from tailgate.engine.execution import OrderExecutor, client_order_id
from tailgate.engine.obligations import ObligationKeeper
from tailgate.engine.portfolio import Portfolio
from tailgate.engine.positions import PositionManager
from tailgate.store import Store
from tailgate.store.records import OrderPurpose, OrderState, PositionStatus
from tailgate.venues.protocols import OrderResult, OrderStatus, VenueFill
from tests.engine.scripted import LEADER, MARKETS, T0, build_rig, entry_order


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


# ---- the exit: the close first, then the stop's cancel ---------------------------------------


def _venue_calls(venue) -> list[tuple[str, str]]:
    """Record the order of the venue's writes: ("place" | "cancel", client order id)."""
    calls: list[tuple[str, str]] = []
    place, cancel = venue.place_order, venue.cancel_order

    async def placed(order):
        calls.append(("place", order.client_order_id))
        return await place(order)

    async def cancelled(cid):
        calls.append(("cancel", cid))
        return await cancel(cid)

    venue.place_order, venue.cancel_order = placed, cancelled
    return calls


def _stop(store: Store):
    return next(o for o in store.load_orders() if o.purpose is OrderPurpose.STOP)


def test_an_exit_sends_its_close_before_cancelling_the_stop(world):
    """The close waits for no round trip: the stop's cancel (and the venue's answer about it)
    comes after; both are reduce-only, so together they never trade more than the position."""
    store, venue, manager, portfolio, _, position = world
    stop = _stop(store)
    calls = _venue_calls(venue)
    asyncio.run(manager.close_position(position, "TIME_STOP", T0 + MS_PER_MINUTE))
    (close,) = [o for o in store.load_orders() if o.purpose is OrderPurpose.EXIT]
    assert calls == [("place", close.client_order_id), ("cancel", stop.client_order_id)]
    assert close.reduce_only and venue.requests[close.client_order_id].reduce_only
    assert portfolio.open_positions == [] and venue.holdings["ETH"] == 0
    assert store.order_by_client_id(stop.client_order_id).state is OrderState.EXPIRED
    assert manager.stop_of(position.id) is None


def test_a_stop_that_fired_before_the_close_is_settled_by_the_cancel(world):
    """The venue's stop took the position first: the reduce-only close finds nothing to take
    and is refused; the cancel's answer settles the stop, which closed the position."""
    store, venue, manager, portfolio, _, position = world
    stop = _stop(store)
    fired = OrderResult(
        stop.client_order_id,
        OrderStatus.FILLED,
        2.0,
        2_850.0,
        1.0,
        "v-stop",
        (VenueFill("f-stop", 2_850.0, 2.0, 1.0, T0 + 30_000),),
    )
    venue.orders[stop.client_order_id] = fired
    venue.holdings["ETH"] = 0.0
    place = venue.place_order

    async def reduce_only(order):  # the venue's rule: reduce-only never opens a position
        if order.reduce_only and not venue.holdings.get(order.coin):
            result = OrderResult(order.client_order_id, OrderStatus.REJECTED, reason="reduce only")
            venue.orders[order.client_order_id] = result
            return result
        return await place(order)

    venue.place_order = reduce_only
    asyncio.run(manager.close_position(position, "TIME_STOP", T0 + MS_PER_MINUTE))
    assert portfolio.open_positions == []
    (closed,) = store.load_positions(status=PositionStatus.CLOSED)
    assert closed.exit_price == pytest.approx(2_850.0)  # the stop's fill, not the close's
    assert store.order_by_client_id(stop.client_order_id).state is OrderState.FILLED
    (close,) = [o for o in store.load_orders() if o.purpose is OrderPurpose.EXIT]
    assert close.state is OrderState.REJECTED and close.filled_size == 0


def test_a_stop_the_cancel_missed_is_cancelled_by_the_next_monitor_tick(world):
    store, venue, manager, portfolio, _, position = world
    stop = _stop(store)
    cancel = venue.cancel_order
    failures = [RuntimeError("venue unavailable")]

    async def flaky(cid):
        if failures:
            raise failures.pop()
        return await cancel(cid)

    venue.cancel_order = flaky
    with pytest.raises(RuntimeError):
        asyncio.run(manager.close_position(position, "TIME_STOP", T0 + MS_PER_MINUTE))
    assert portfolio.open_positions == []  # the close went first: the position is flat
    assert venue.orders[stop.client_order_id].status is OrderStatus.OPEN  # the stop is not
    assert manager.stop_of(position.id) is stop or manager.stop_of(position.id).id == stop.id
    asyncio.run(manager.monitor(T0 + 2 * MS_PER_MINUTE))
    assert venue.orders[stop.client_order_id].status is OrderStatus.CANCELLED
    assert store.order_by_client_id(stop.client_order_id).state is OrderState.EXPIRED
    assert manager.stop_of(position.id) is None


def test_a_stop_left_by_a_crash_after_the_close_is_cancelled_at_startup(world):
    """Crash between the close and the cancel: the next engine's position manager finds the
    stop still resting for a closed position and cancels it before anything else."""
    store, venue, manager, _portfolio, leaders, position = world
    stop = _stop(store)

    async def crash(cid):
        raise KeyboardInterrupt  # (the process dies here)

    venue.cancel_order, cancel = crash, venue.cancel_order
    with pytest.raises(KeyboardInterrupt):
        asyncio.run(manager.close_position(position, "TIME_STOP", T0 + MS_PER_MINUTE))
    venue.cancel_order = cancel
    reborn = Portfolio("paper", store.ensure_account("paper", 0.0, T0), store.load_positions())
    assert reborn.open_positions == []
    manager2 = PositionManager(
        store=store,
        feed=venue,
        market=venue,
        executor=OrderExecutor(venue, store, MARKETS, reborn, CopyParams()),
        portfolio=reborn,
        leaders=leaders,
        params=CopyParams(),
        markets=MARKETS,
    )
    assert manager2.stop_of(position.id) is not None  # loaded: it still rests
    assert asyncio.run(manager2.cancel_stray_stops(T0 + 2 * MS_PER_MINUTE)) == 1
    assert venue.orders[stop.client_order_id].status is OrderStatus.CANCELLED
    assert store.order_by_client_id(stop.client_order_id).state is OrderState.EXPIRED


def test_exits_and_stops_are_written_claimed_one_commit_before_the_send(world, monkeypatch):
    store, venue, manager, _portfolio, _, position = world
    at_send: list[tuple[str, OrderState]] = []
    place = venue.place_order

    async def placing(order):
        at_send.append(
            (order.client_order_id, store.order_by_client_id(order.client_order_id).state)
        )
        return await place(order)

    claims: list[str] = []
    claim = store.claim_order
    monkeypatch.setattr(venue, "place_order", placing)
    monkeypatch.setattr(
        store, "claim_order", lambda o, t: claims.append(o.client_order_id) or claim(o, t)
    )
    venue.mark = 3_300.0  # +10 %: a profit tier closes a quarter, then the rest is re-protected
    asyncio.run(manager.monitor(T0 + MS_PER_MINUTE))
    purposes = {o.client_order_id: o.purpose for o in store.load_orders()}
    assert [purposes[cid] for cid, _ in at_send] == [OrderPurpose.EXIT, OrderPurpose.STOP]
    assert all(state is OrderState.SUBMITTED for _, state in at_send)  # durable before the send
    assert claims == []  # no second transaction for either
    assert position.size == pytest.approx(1.5)


def test_a_crash_between_a_closes_commit_and_its_send_never_sends_it_and_the_close_is_owed(world):
    store, venue, manager, portfolio, _, position = world

    async def crash(order):
        raise SystemExit("killed between the commit and the send")

    venue.place_order, place = crash, venue.place_order
    with pytest.raises(SystemExit):
        asyncio.run(manager.close_position(position, "TIME_STOP", T0 + MS_PER_MINUTE))
    venue.place_order = place  # the venue as it is: it never saw the close
    (close,) = [o for o in store.load_orders() if o.purpose is OrderPurpose.EXIT]
    assert close.state is OrderState.SUBMITTED
    executor = OrderExecutor(venue, store, MARKETS, portfolio, CopyParams())
    assert asyncio.run(executor.resolve_open_orders(T0 + 2 * MS_PER_MINUTE, 60_000)) == []
    settled = store.order_by_client_id(close.client_order_id)
    assert (settled.state, settled.reason) == (OrderState.EXPIRED, "RESTART_UNRESOLVED")
    assert close.client_order_id not in venue.orders  # never sent
    keeper = ObligationKeeper(store, manager, portfolio)
    asyncio.run(keeper.run_due(T0 + 2 * MS_PER_MINUTE))  # the close it was for is owed
    assert portfolio.open_positions == [] and venue.holdings["ETH"] == 0
