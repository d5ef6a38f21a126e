"""§E1, §E2, §E5 in the engine: an entry's stop is owed until it rests, a crash between the
fill and the stop is repaired on restart, unsent intents are sent while fresh or expired when
stale, and a mirrored Close is owed until the position is flat."""

from __future__ import annotations

import asyncio

import pytest

from tailgate.domain.models import MS_PER_MINUTE
from tailgate.engine.execution import client_order_id
from tailgate.engine.obligations import ObligationKeeper, RetryPolicy
from tailgate.engine.positions import close_obligation
from tailgate.store import Store
from tailgate.store.records import (
    ObligationKind,
    OrderPurpose,
    OrderState,
    PositionStatus,
)
from tailgate.venues.protocols import OrderResult, OrderStatus
from tests.engine.scripted import T0, Rig, build_rig, entry_order

TTL_MS = 60_000


@pytest.fixture
def store(tmp_path):
    opened = Store.open(f"sqlite:///{tmp_path}/safe.db")
    yield opened
    opened.close()


def keeper_for(rig: Rig) -> ObligationKeeper:
    keeper = ObligationKeeper(rig.store, rig.manager, rig.portfolio, RetryPolicy(5_000, 60_000))
    rig.executor.on_obligation = keeper.wake
    return keeper


def fill_entry(rig: Rig, cid: str = "t1") -> None:
    order = entry_order(client_order_id("paper", cid), size=2.0)
    rig.store.insert_order(order)
    asyncio.run(rig.executor.execute(order, T0))


def resting_stops(store: Store) -> list:
    return [o for o in store.load_orders([OrderState.SUBMITTED]) if o.purpose is OrderPurpose.STOP]


def test_a_filled_entry_owes_its_stop_until_the_stop_rests(store):
    rig = build_rig(store)
    fill_entry(rig)
    (owed,) = store.open_obligations()
    (position,) = rig.portfolio.open_positions
    assert owed.kind is ObligationKind.PROTECT and owed.position_id == position.id
    asyncio.run(rig.manager.protect(position, T0))
    assert store.open_obligations() == []
    assert len(resting_stops(store)) == 1


def test_a_crash_between_fill_and_stop_is_repaired_by_the_restarted_keeper(store):
    fill_entry(build_rig(store))  # ...and the process dies before `protect`
    restarted = build_rig(store)
    restarted.portfolio.apply(store.load_positions(status=PositionStatus.OPEN)[0], 0.0)
    keeper = keeper_for(restarted)
    assert resting_stops(store) == []
    assert asyncio.run(keeper.run_due(T0 + 1_000)) == 0
    (stop,) = resting_stops(store)
    assert stop.size == pytest.approx(2.0) and store.open_obligations() == []


def test_a_stop_the_venue_refuses_is_retried_with_backoff_until_it_rests(store):
    rig = build_rig(store)
    keeper = keeper_for(rig)
    refusals = 2
    place = rig.venue.place_order

    async def flaky(order):
        nonlocal refusals
        if order.trigger_price is not None and refusals:
            refusals -= 1
            result = OrderResult(order.client_order_id, OrderStatus.REJECTED, reason="busy")
            rig.venue.orders[order.client_order_id] = result
            return result
        return await place(order)

    rig.venue.place_order = flaky
    fill_entry(rig)
    (position,) = rig.portfolio.open_positions
    asyncio.run(rig.manager.protect(position, T0))  # refused
    assert asyncio.run(keeper.run_due(T0)) == 1  # refused again: retried in 5 s
    (owed,) = store.open_obligations()
    assert (owed.attempts, owed.due_ms, owed.last_error) == (1, T0 + 5_000, "stop not placed")
    assert asyncio.run(keeper.run_due(T0 + 4_999)) == 0  # not due: the store is not asked
    assert asyncio.run(keeper.run_due(T0 + 5_000)) == 0
    assert store.open_obligations() == [] and len(resting_stops(store)) == 1


def test_backoff_doubles_up_to_its_cap():
    retry = RetryPolicy(base_ms=5_000, max_ms=60_000)
    assert [retry.delay_ms(n) for n in (1, 2, 3, 4, 5, 6)] == [
        5_000,
        10_000,
        20_000,
        40_000,
        60_000,
        60_000,
    ]


def test_an_unsent_entry_is_sent_on_restart_while_fresh_and_expired_when_stale(store):
    rig = build_rig(store)
    fresh = entry_order("0xfresh", created_ms=T0)
    stale = entry_order("0xstale", created_ms=T0 - 2 * TTL_MS)
    store.insert_order(fresh)
    store.insert_order(stale)
    to_send = asyncio.run(rig.executor.resolve_open_orders(T0 + 1_000, TTL_MS))
    assert [o.client_order_id for o in to_send] == ["0xfresh"]
    assert rig.venue.orders == {}  # resolving sends nothing by itself
    gone = store.order_by_client_id("0xstale")
    assert (gone.state, gone.reason) == (OrderState.EXPIRED, "STALE_PENDING")


def test_an_unsent_stop_is_superseded_on_restart_its_obligation_places_a_new_one(store):
    rig = build_rig(store)
    fill_entry(rig)
    (position,) = rig.portfolio.open_positions
    stop = rig.executor.plan_stop(position, T0)
    store.insert_order(stop)  # written, never sent: the process died here
    asyncio.run(rig.executor.resolve_open_orders(T0 + 1_000, TTL_MS))
    assert store.order_by_client_id(stop.client_order_id).reason == "SUPERSEDED"
    asyncio.run(keeper_for(rig).run_due(T0 + 1_000))
    assert len(resting_stops(store)) == 1


def test_the_stale_sweep_expires_old_intents_and_leaves_young_ones(store):
    rig = build_rig(store)
    store.insert_order(entry_order("0xyoung", created_ms=T0))
    store.insert_order(entry_order("0xold", created_ms=T0 - TTL_MS - 1))
    assert rig.executor.sweep_stale(T0, TTL_MS) == 1
    assert store.order_by_client_id("0xold").state is OrderState.EXPIRED
    assert store.order_by_client_id("0xyoung").state is OrderState.PENDING
    assert rig.venue.orders == {}


def test_a_mirrored_close_lost_in_a_crash_is_done_by_its_obligation(store):
    rig = build_rig(store)
    fill_entry(rig)
    (position,) = rig.portfolio.open_positions
    asyncio.run(rig.manager.protect(position, T0))
    store.add_obligations([close_obligation(position, "LEADER_CLOSED", T0)])  # then: crash
    keeper = keeper_for(rig)
    asyncio.run(keeper.run_due(T0 + MS_PER_MINUTE))
    (closed,) = store.load_positions(status=PositionStatus.CLOSED)
    assert closed.close_reason == "LEADER_CLOSED"
    assert store.open_obligations() == [] and resting_stops(store) == []


def test_an_order_claimed_by_another_executor_is_not_sent_here(store):
    rig = build_rig(store)
    order = entry_order("0xtheirs")
    store.insert_order(order)
    other = store.order_by_client_id("0xtheirs")
    assert store.claim_order(other, T0)  # another executor got there first
    asyncio.run(rig.executor.execute(order, T0))
    assert rig.venue.orders == {}
