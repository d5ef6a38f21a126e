"""Rate limits as data (Hyperliquid's published budget) and the one limiter (SPEC §R2)."""

from __future__ import annotations

import asyncio
import random

import pytest

from tailgate.transport.backoff import Backoff
from tailgate.transport.errors import OverCapacityError
from tailgate.transport.limits import (
    RateLimit,
    WeightedLimiter,
    WsBudget,
    hyperliquid_action_weight,
    hyperliquid_limits,
)
from tailgate.transport.metrics import TransportMetrics

HL = hyperliquid_limits()


def test_hyperliquid_rest_budget_is_1200_weight_per_minute_per_ip() -> None:
    assert (HL.rest.capacity, HL.rest.window_s) == (1200, 60.0)
    assert HL.info.pool is HL.rest


@pytest.mark.parametrize(
    ("kind", "weight"),
    [
        ("l2Book", 2),
        ("allMids", 2),
        ("clearinghouseState", 2),
        ("orderStatus", 2),
        ("spotClearinghouseState", 2),
        ("exchangeStatus", 2),
        ("userRole", 60),
        ("meta", 20),
        ("userFills", 20),
        ("openOrders", 20),
    ],
)
def test_hyperliquid_info_weights(kind: str, weight: int) -> None:
    assert HL.info.weight(kind) == weight


@pytest.mark.parametrize(
    ("kind", "items", "extra"),
    [
        ("userFills", 2000, 100),
        ("userFillsByTime", 21, 2),
        ("historicalOrders", 20, 1),
        ("userFills", 0, 0),
        ("candleSnapshot", 61, 2),
        ("l2Book", 500, 0),
    ],
)
def test_hyperliquid_charges_weight_per_items_returned(kind: str, items: int, extra: int) -> None:
    assert HL.info.extra_weight(kind, items) == extra


@pytest.mark.parametrize(("batch", "weight"), [(0, 1), (1, 1), (39, 1), (40, 2), (79, 2), (80, 3)])
def test_hyperliquid_action_weight_is_1_plus_batch_over_40(batch: int, weight: int) -> None:
    assert hyperliquid_action_weight(batch) == weight


def test_hyperliquid_websocket_caps() -> None:
    ws = HL.ws
    assert (ws.max_connections, ws.max_subscriptions, ws.max_unique_users) == (100, 1000, 10)
    assert (ws.messages.capacity, ws.messages.window_s) == (2000, 60.0)


def test_the_declared_weights_cannot_be_changed_at_run_time() -> None:
    with pytest.raises(TypeError):
        HL.info.weights["l2Book"] = 0  # type: ignore[index]


def test_a_burst_up_to_capacity_does_not_wait() -> None:
    metrics = TransportMetrics()

    async def scenario() -> None:
        limiter = WeightedLimiter(RateLimit("pool", 1200, 60.0), metrics=metrics)
        for _ in range(60):
            await limiter.acquire(20)
        assert not limiter.has_capacity(20)

    asyncio.run(scenario())
    assert metrics.registry.get_sample_value(
        "tailgate_transport_limiter_waits_total", {"pool": "pool"}
    ) in (None, 0.0)


def test_a_request_heavier_than_the_pool_is_refused() -> None:
    async def scenario() -> None:
        limiter = WeightedLimiter(RateLimit("pool", 10, 60.0))
        with pytest.raises(OverCapacityError):
            await limiter.acquire(11)

    asyncio.run(scenario())


def test_the_pool_refills_over_its_window_and_the_wait_is_counted() -> None:
    metrics = TransportMetrics()

    async def scenario() -> float:
        limiter = WeightedLimiter(RateLimit("fast", 10, 0.2), metrics=metrics)
        await limiter.acquire(10)
        loop = asyncio.get_running_loop()
        started = loop.time()
        await limiter.acquire(5)  # half the pool: half a window to drain
        return loop.time() - started

    waited = asyncio.run(scenario())
    assert waited >= 0.08
    labels = {"pool": "fast"}
    registry = metrics.registry
    assert registry.get_sample_value("tailgate_transport_limiter_waits_total", labels) == 1.0
    seconds = registry.get_sample_value("tailgate_transport_limiter_wait_seconds_total", labels)
    assert seconds is not None and seconds >= 0.08


def test_websocket_budget_holds_every_cap_across_streams() -> None:
    budget = WsBudget(HL.ws)
    users = [f"0x{i:040x}" for i in range(10)]
    first = budget.claim(600, users[:6])
    with pytest.raises(OverCapacityError, match="subscriptions"):
        budget.claim(401)
    with pytest.raises(OverCapacityError, match="users"):
        budget.claim(1, [*users[5:], "0xeleventh"])
    second = budget.claim(400, users[4:])  # overlapping users count once
    assert budget.subscriptions == 1000
    assert budget.users == frozenset(users)
    budget.release(first)
    assert budget.users == frozenset(users[4:])
    assert (budget.connections, budget.subscriptions) == (1, 400)
    budget.release(second)
    assert (budget.connections, budget.subscriptions, budget.users) == (0, 0, frozenset())


def test_websocket_budget_caps_connections() -> None:
    budget = WsBudget(HL.ws)
    for _ in range(100):
        budget.claim(1)
    with pytest.raises(OverCapacityError, match="connections"):
        budget.claim(1)


def test_backoff_doubles_to_its_cap_without_jitter() -> None:
    backoff = Backoff(base_s=0.5, max_s=4.0, jitter=0.0)
    assert [backoff.delay(n) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert backoff.delay(10_000) == 4.0


def test_full_jitter_stays_under_the_exponential_ceiling_and_is_reproducible() -> None:
    first, second = (Backoff(1.0, 8.0, 1.0, random.Random(7)) for _ in range(2))
    delays = [first.delay(n) for n in range(1, 5)]
    again = [second.delay(n) for n in range(1, 5)]
    assert delays == again
    assert all(0.0 <= d <= c for d, c in zip(delays, [1.0, 2.0, 4.0, 8.0], strict=True))
