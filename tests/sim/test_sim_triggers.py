"""Stop orders at the simulated venue: they rest, fire on the minute bars, and cancel."""

from __future__ import annotations

import asyncio

import pytest

from tailgate.domain.models import MS_PER_MINUTE
from tailgate.domain.precision import round_price
from tailgate.venues.protocols import OrderRequest, OrderStatus
from tailgate.venues.sim import SimConfig, SimVenue, SimWorld


@pytest.fixture(scope="module")
def world() -> SimWorld:
    return SimWorld(SimConfig(seed=3, history_days=1, forward_days=10))


def _long_btc(world: SimWorld, clock: dict) -> tuple[SimVenue, float]:
    venue = SimVenue(world, lambda: clock["now"])
    price = world.price_at("BTC", clock["now"])
    market = world.market("BTC")
    limit = round_price(price * 1.01, market, is_buy=True)
    result = asyncio.run(venue.place_order(OrderRequest("0xentry", "BTC", True, 0.1, limit)))
    assert result.status is OrderStatus.FILLED
    return venue, price


def test_a_stop_rests_then_fires_at_or_beyond_its_trigger_when_the_bars_cross_it(world):
    clock = {"now": world.start_ms}
    venue, price = _long_btc(world, clock)
    market = world.market("BTC")
    trigger = round_price(price * 0.99, market, is_buy=False)
    stop = OrderRequest(
        "0xstop",
        "BTC",
        False,
        0.1,
        round_price(trigger * 0.95, market),
        reduce_only=True,
        trigger_price=trigger,
    )
    assert asyncio.run(venue.place_order(stop)).status is OrderStatus.OPEN
    idx = world.coin_index("BTC")
    m0 = world.paths.minute_of(clock["now"])
    k = world.paths.first_cross(idx, m0, world.paths.n_minutes - 1, below=trigger, above=1e18)
    assert k > m0, "the path must cross the trigger within the world"
    clock["now"] = world.paths.t0_ms + (k - 1) * MS_PER_MINUTE  # the bar before: still resting
    assert asyncio.run(venue.order_by_client_id("0xstop")).status is OrderStatus.OPEN
    clock["now"] = world.paths.t0_ms + (k + 5) * MS_PER_MINUTE
    result = asyncio.run(venue.order_by_client_id("0xstop"))
    assert result.status is OrderStatus.FILLED and result.filled_size == pytest.approx(0.1)
    bar_open = float(world.paths.close[idx, k - 1])
    assert result.avg_price <= min(trigger, bar_open) + 1e-9  # stop price or the gap, less slip
    assert result.fills[0].time_ms == world.paths.t0_ms + k * MS_PER_MINUTE
    assert asyncio.run(venue.account_snapshot()).positions == ()


def test_a_cancelled_stop_never_fires(world):
    clock = {"now": world.start_ms}
    venue, price = _long_btc(world, clock)
    market = world.market("BTC")
    trigger = round_price(price * 0.999, market, is_buy=False)
    stop = OrderRequest(
        "0xstop2",
        "BTC",
        False,
        0.1,
        round_price(trigger * 0.95, market),
        reduce_only=True,
        trigger_price=trigger,
    )
    asyncio.run(venue.place_order(stop))
    assert asyncio.run(venue.cancel_order("0xstop2")) is True
    clock["now"] += 5 * 86_400_000
    assert asyncio.run(venue.order_by_client_id("0xstop2")).status is OrderStatus.CANCELLED
    assert len(asyncio.run(venue.account_snapshot()).positions) == 1
    assert asyncio.run(venue.cancel_order("0xstop2")) is False


def test_a_stop_must_be_reduce_only(world):
    clock = {"now": world.start_ms}
    venue = SimVenue(world, lambda: clock["now"])
    bad = OrderRequest("0xs", "BTC", False, 0.1, 50_000.0, trigger_price=80_000.0)
    assert asyncio.run(venue.place_order(bad)).status is OrderStatus.REJECTED
