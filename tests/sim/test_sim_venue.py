"""SimVenue through the protocols: determinism, no look-ahead, leader data, orders, injection."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import itertools
import json
import math
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

import numpy as np
import pytest

from tailgate.domain.models import MS_PER_DAY, MS_PER_HOUR, MS_PER_MINUTE
from tailgate.domain.reasons import ReasonCode
from tailgate.venues.protocols import (
    AccountState,
    LeaderFeed,
    MarketData,
    OrderGateway,
    OrderRequest,
    OrderStatus,
    PayloadError,
)
from tailgate.venues.sim import SimConfig, SimVenue, SimWorld
from tailgate.venues.sim import payloads as raw_payloads

from .conftest import SMALL, Clock

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def _busiest(world: SimWorld, archetype: str) -> str:
    ledgers = [lg for lg in world.ledgers.values() if lg.profile.archetype.value == archetype]
    return max(ledgers, key=lambda lg: lg.fill_time.size).address


async def _everything(venue: SimVenue, leaders: list[str], start: int, end: int) -> str:
    """Every read of the venue, serialised: the fingerprint of what the engine could see."""
    out: list[Any] = []
    for window in (7, 30, 90):
        out.append([dataclasses.asdict(e) for e in await venue.leaderboard(window)])
    for leader in leaders:
        page = await venue.leader_fills(leader, start, end)
        out.append([dataclasses.asdict(f) for f in page.fills])
        out.append([dataclasses.asdict(r) for r in page.rejects])
        out.append(dataclasses.asdict(await venue.leader_state(leader)))
        out.append(await venue.leader_portfolio(leader))
    out.append(await venue.mids())
    out.append([dataclasses.asdict(m) for m in await venue.markets()])
    for coin in venue.world.coins:
        out.append(dataclasses.asdict(await venue.order_book(coin)))
    return json.dumps(out, sort_keys=True, default=str)


def test_venue_satisfies_every_protocol(venue: SimVenue) -> None:
    for protocol in (LeaderFeed, MarketData, OrderGateway, AccountState):
        assert isinstance(venue, protocol)


def test_same_seed_gives_byte_identical_outputs_other_seed_differs(small_world: SimWorld) -> None:
    twin = SimWorld(SMALL)
    other = SimWorld(dataclasses.replace(SMALL, seed=SMALL.seed + 1))
    assert twin.paths.close.tobytes() == small_world.paths.close.tobytes()
    assert other.paths.close.tobytes() != small_world.paths.close.tobytes()
    now = small_world.start_ms + 3 * MS_PER_DAY
    a = run(_everything(SimVenue(small_world, lambda: now), list(small_world.leaders), 0, now))
    b = run(_everything(SimVenue(twin, lambda: now), list(twin.leaders), 0, now))
    c = run(_everything(SimVenue(other, lambda: now), list(other.leaders), 0, now))
    assert hashlib.sha256(a.encode()).digest() == hashlib.sha256(b.encode()).digest()
    assert a != c
    assert set(other.leaders).isdisjoint(small_world.leaders)


def _poison_future(world: SimWorld, now: int) -> None:
    """Overwrite everything after `now` with garbage: a venue that peeks would change answers."""
    m = world.paths.minute_of(now)
    for arr in (world.paths.close, world.paths.high, world.paths.low):
        arr[:, m + 1 :] = np.nan
    never = np.iinfo(np.int64).max
    for lg in world.ledgers.values():
        future = lg.fill_time > now
        lg.fill_px[future] = np.nan
        lg.fill_lots[future] *= 1000
        lg.fill_closed_pnl[future] = np.nan
        lg.fill_cum_notional[future] = np.nan
        lg.pnl_cum[lg.pnl_time > now] = np.nan
        later = lg.seg_start > now
        lg.seg_lots[later] *= 1000
        lg.seg_entry[later] = np.nan
        lg.seg_end[lg.seg_end > now] = never  # when an open position will close is the future


@pytest.mark.parametrize("days_in", [0.5, 4.25])
def test_nothing_after_now_is_ever_served(small_world: SimWorld, days_in: float) -> None:
    now = small_world.start_ms + int(days_in * MS_PER_DAY) + 12_345
    poisoned = SimWorld(SMALL)
    _poison_future(poisoned, now)
    leaders = list(small_world.leaders)
    end = small_world.end_ms + MS_PER_DAY
    honest = run(_everything(SimVenue(small_world, lambda: now), leaders, 0, end))
    blind = run(_everything(SimVenue(poisoned, lambda: now), leaders, 0, end))
    assert honest == blind
    assert "NaN" not in honest


def test_leader_fills_window_is_start_inclusive_end_exclusive_and_capped_at_now(
    world: SimWorld, clock: Clock, venue: SimVenue
) -> None:
    leader = _busiest(world, "hft")
    lg = world.ledgers[leader]
    clock.now = world.start_ms + 2 * MS_PER_DAY
    page = run(venue.leader_fills(leader, 0, world.end_ms))
    assert page.fills and all(f.time_ms <= clock.now for f in page.fills)
    assert len(page.fills) == int((lg.fill_time <= clock.now).sum())
    times = [f.time_ms for f in page.fills]
    assert times == sorted(times)
    t = times[-20]
    exact = run(venue.leader_fills(leader, t, t + 1))
    assert exact.fills and all(f.time_ms == t for f in exact.fills)
    assert not run(venue.leader_fills(leader, t + 1, t + 1)).fills
    before = run(venue.leader_fills(leader, clock.now - MS_PER_HOUR, clock.now + MS_PER_DAY))
    clock.now += MS_PER_HOUR
    after = run(venue.leader_fills(leader, clock.now - 2 * MS_PER_HOUR, clock.now + MS_PER_DAY))
    assert len(after.fills) > len(before.fills)
    assert run(venue.leader_fills("0xunknown", 0, clock.now)).fills == []


def test_fills_page_limit_caps_a_call(small_world: SimWorld) -> None:
    limited = SimWorld(dataclasses.replace(SMALL, fills_page_limit=5))
    leader = _busiest(limited, "hft")
    page = run(SimVenue(limited, lambda: limited.end_ms).leader_fills(leader, 0, limited.end_ms))
    assert len(page.fills) == 5
    assert page.fills[0].time_ms == limited.ledgers[leader].fill_time[0]


def test_leader_state_matches_the_open_positions_and_equity(
    world: SimWorld, clock: Clock, venue: SimVenue
) -> None:
    clock.now = world.start_ms + 7 * MS_PER_DAY + 3 * MS_PER_HOUR
    checked = 0
    for leader in world.leaders[::10]:
        lg = world.ledgers[leader]
        state = run(venue.leader_state(leader))
        open_now = lg.open_at(clock.now)
        assert {p.coin for p in state.positions} == {world.coins[c] for c in lg.seg_coin[open_now]}
        expected = float(world.equity(leader, np.array([clock.now]))[0])
        assert state.account_value == pytest.approx(expected, abs=1e-5)
        for p in state.positions:
            mark = world.price_at(p.coin, clock.now)
            assert p.position_value == pytest.approx(p.size * mark, rel=1e-9)
            assert p.leverage >= 1
        checked += len(state.positions)
    assert checked > 5
    empty = run(venue.leader_state("0xunknown"))
    assert (empty.account_value, empty.positions) == (0.0, ())


def test_leader_portfolio_is_daily_over_90_days_ending_now(
    world: SimWorld, clock: Clock, venue: SimVenue
) -> None:
    clock.now = world.start_ms + 5 * MS_PER_DAY
    leader = _busiest(world, "swing")
    history = run(venue.leader_portfolio(leader))
    assert len(history) == 91
    assert history[-1][0] == clock.now and history[0][0] == clock.now - 90 * MS_PER_DAY
    assert all(b[0] - a[0] == MS_PER_DAY for a, b in itertools.pairwise(history))
    state = run(venue.leader_state(leader))
    assert history[-1][1] == pytest.approx(state.account_value, abs=1e-5)
    assert run(venue.leader_portfolio("0xunknown")) == []


def test_leaderboard_windows_and_roi_definition(
    world: SimWorld, clock: Clock, venue: SimVenue
) -> None:
    clock.now = world.start_ms
    board = {w: run(venue.leaderboard(w)) for w in (7, 30, 90)}
    started = [a for a in world.leaders if (world.ledgers[a].first_fill_ms or 1 << 62) <= clock.now]
    assert len(board[30]) == len(started) < len(world.leaders)  # late starters not yet listed
    pnls = [e.pnl for e in board[7]]
    assert pnls == sorted(pnls, reverse=True)
    for entry in board[30][:: len(board[30]) // 10]:
        lg = world.ledgers[entry.leader]
        since = max(clock.now - 30 * MS_PER_DAY, lg.profile.start_ms)
        base, now_value = world.equity(entry.leader, np.array([since, clock.now]))
        assert entry.account_value == pytest.approx(now_value, abs=1e-5)
        assert entry.pnl == pytest.approx(now_value - base, abs=1e-5)
        assert entry.roi == pytest.approx((now_value - base) / base, abs=1e-7)
        assert entry.volume > 0
    with pytest.raises(ValueError):
        run(venue.leaderboard(14))


def test_market_data(world: SimWorld, clock: Clock, venue: SimVenue) -> None:
    markets = run(venue.markets())
    assert [m.coin for m in markets] == list(world.coins)
    assert {m.coin: m.sz_decimals for m in markets}["BTC"] == 5
    assert {m.coin: m.max_leverage for m in markets}["BTC"] == 40
    mids = run(venue.mids())
    for coin, mid in mids.items():
        assert mid == pytest.approx(world.price_at(coin, clock.now), rel=1e-5)
    book = run(venue.order_book("BTC"))
    assert book.bids[0].price < mids["BTC"] < book.asks[0].price and book.time_ms == clock.now
    with pytest.raises(PayloadError) as err:
        run(venue.order_book("NOTACOIN"))
    assert err.value.reason is ReasonCode.UNKNOWN_COIN


def _order(cid: str, coin: str, is_buy: bool, size: float, price: float, **kw: Any) -> OrderRequest:
    return OrderRequest(cid, coin, is_buy, size, price, **kw)


def test_marketable_order_fills_against_the_book_and_updates_the_account(
    world: SimWorld, clock: Clock, venue: SimVenue
) -> None:
    book = run(venue.order_book("ETH"))
    result = run(venue.place_order(_order("a1", "ETH", True, 2.0, book.asks[3].price)))
    assert result.status is OrderStatus.FILLED and result.filled_size == 2.0
    assert result.avg_price == book.asks[0].price
    assert result.fee == pytest.approx(2.0 * book.asks[0].price * 0.00035)
    assert result.reason == ReasonCode.ORDER_FILLED and result.venue_order_id
    snap = run(venue.account_snapshot())
    (pos,) = snap.positions
    assert (pos.coin, pos.size, pos.entry_price) == ("ETH", 2.0, book.asks[0].price)
    clock.now += 3 * MS_PER_HOUR
    later = run(venue.order_book("ETH"))
    close = run(venue.place_order(_order("a2", "ETH", False, 2.0, later.bids[3].price)))
    assert close.status is OrderStatus.FILLED
    snap = run(venue.account_snapshot())
    pnl = 2.0 * (close.avg_price - result.avg_price)
    assert snap.positions == ()
    assert snap.account_value == pytest.approx(100_000 + pnl - result.fee - close.fee)


def test_limit_caps_the_walk_into_a_partial_fill_or_nothing(venue: SimVenue) -> None:
    book = run(venue.order_book("SOL"))
    limit = book.asks[1].price
    depth = book.asks[0].size + book.asks[1].size
    partial = run(venue.place_order(_order("p1", "SOL", True, round(depth * 3, 2), limit)))
    assert partial.status is OrderStatus.PARTIAL and partial.reason == ReasonCode.ORDER_PARTIAL
    assert partial.filled_size == pytest.approx(depth) and len(partial.fills) == 2
    assert partial.avg_price <= limit
    none = run(venue.place_order(_order("p2", "SOL", True, 1.0, book.bids[0].price)))
    assert none.status is OrderStatus.CANCELLED and none.filled_size == 0 and none.fills == ()


def test_duplicate_client_order_id_returns_the_first_result_and_never_fills_twice(
    venue: SimVenue,
) -> None:
    book = run(venue.order_book("BTC"))
    first = run(venue.place_order(_order("dup", "BTC", True, 0.5, book.asks[5].price)))
    again = run(venue.place_order(_order("dup", "BTC", True, 0.5, book.asks[5].price)))
    assert again == first
    (pos,) = run(venue.account_snapshot()).positions
    assert pos.size == 0.5
    assert run(venue.order_by_client_id("dup")) == first
    assert run(venue.order_by_client_id("never-sent")) is None


@pytest.mark.parametrize(
    ("coin", "size", "price_shift", "code"),
    [
        ("ETH", 0.00001, 0.0, ReasonCode.INVALID_SIZE),  # below the 4-decimal lot
        ("ETH", 1.23456, 0.0, ReasonCode.INVALID_SIZE),
        ("ETH", 0.0, 0.0, ReasonCode.INVALID_SIZE),
        ("ETH", -1.0, 0.0, ReasonCode.INVALID_SIZE),
        ("ETH", 1.0, 0.05, ReasonCode.INVALID_PRICE),  # between two ticks
        ("ETH", 1.0, math.nan, ReasonCode.INVALID_PRICE),
        ("NOTACOIN", 1.0, 0.0, ReasonCode.UNKNOWN_COIN),
        ("ETH", 0.001, 0.0, ReasonCode.SIZE_BELOW_VENUE_MINIMUM),  # ~ $2 < $10
    ],
)
def test_orders_the_venue_would_refuse_are_rejected_with_a_reason(
    venue: SimVenue, coin: str, size: float, price_shift: float, code: ReasonCode
) -> None:
    price = run(venue.order_book("ETH")).asks[0].price + price_shift
    result = run(venue.place_order(_order(f"r-{code}-{size}", coin, True, size, price)))
    assert result.status is OrderStatus.REJECTED
    assert result.reason.split(":")[0] == code.value
    assert run(venue.account_snapshot()).positions == ()


def test_reduce_only_is_exempt_from_the_minimum_and_never_increases(venue: SimVenue) -> None:
    book = run(venue.order_book("ETH"))
    no_position = run(
        venue.place_order(_order("ro0", "ETH", False, 0.5, book.bids[2].price, reduce_only=True))
    )
    assert no_position.status is OrderStatus.REJECTED
    run(venue.place_order(_order("ro1", "ETH", True, 0.5, book.asks[2].price)))
    tiny = run(
        venue.place_order(_order("ro2", "ETH", False, 0.001, book.bids[2].price, reduce_only=True))
    )
    assert tiny.status is OrderStatus.FILLED
    clipped = run(
        venue.place_order(_order("ro3", "ETH", False, 5.0, book.bids[5].price, reduce_only=True))
    )
    assert clipped.filled_size == pytest.approx(0.499)  # clipped to the position, then filled
    assert clipped.status is OrderStatus.FILLED
    assert run(venue.account_snapshot()).positions == ()


def test_malformed_fill_injection_produces_rejects_and_invalid_values() -> None:
    config = dataclasses.replace(SMALL, malformed_fill_rate=0.2)
    world = SimWorld(config)
    venue = SimVenue(world, lambda: world.end_ms)
    leader = _busiest(world, "hft")
    page = run(venue.leader_fills(leader, 0, world.end_ms))
    total = world.ledgers[leader].fill_time.size
    assert len(page.fills) + len(page.rejects) == total
    assert page.rejects and all(r.reason is ReasonCode.MALFORMED_PAYLOAD for r in page.rejects)
    assert any(math.isnan(f.price) for f in page.fills)
    assert any(f.size < 0 for f in page.fills)
    assert any(f.coin == raw_payloads.UNKNOWN_COIN for f in page.fills)
    bad_share = (
        len(page.rejects)
        + sum(1 for f in page.fills if not f.price > 0 or f.size < 0 or f.coin == "NOTACOIN")
    ) / total
    assert 0.1 < bad_share < 0.3
    again = run(venue.leader_fills(leader, 0, world.end_ms))
    assert [dataclasses.asdict(r) for r in again.rejects] == [
        dataclasses.asdict(r) for r in page.rejects
    ]
    clean = run(
        SimVenue(SimWorld(SMALL), lambda: world.end_ms).leader_fills(leader, 0, world.end_ms)
    )
    assert not clean.rejects and all(f.price > 0 and f.size > 0 for f in clean.fills)


def test_config_is_validated() -> None:
    with pytest.raises(ValueError):
        SimConfig(malformed_fill_rate=1.5)
    with pytest.raises(ValueError):
        SimConfig(coins=("BTC", "NOTACOIN"))
    with pytest.raises(ValueError):
        SimConfig(n_swing=-1)
    with pytest.raises(ValueError):
        SimConfig(history_days=0, forward_days=0)


def test_per_call_costs_are_printed(world: SimWorld, clock: Clock, venue: SimVenue) -> None:
    hft, swing = _busiest(world, "hft"), _busiest(world, "swing")
    hft_times = world.ledgers[hft].fill_time
    clock.now = int(hft_times[hft_times.searchsorted(world.start_ms + 10 * MS_PER_DAY)]) + 60_000

    def cost(label: str, make: Any, repeat: int) -> None:
        async def calls() -> tuple[float, Any]:
            started = time.perf_counter()
            for _ in range(repeat):
                result = await make()
            return (time.perf_counter() - started) / repeat, result

        per_call, result = run(calls())
        size = f"{len(result.fills)} fills" if hasattr(result, "fills") else ""
        if isinstance(result, list):
            size = f"{len(result)} rows"
        print(f"  {label:40s} {per_call * 1e6:9.1f} µs  {size}")

    print()
    now = clock.now
    cost(
        "leader_fills (HFT, last hour)",
        lambda: venue.leader_fills(hft, now - MS_PER_HOUR, now),
        200,
    )
    cost("leader_fills (HFT, last day)", lambda: venue.leader_fills(hft, now - MS_PER_DAY, now), 50)
    cost(
        "leader_fills (swing, 90 days)",
        lambda: venue.leader_fills(swing, now - 90 * MS_PER_DAY, now),
        20,
    )
    cost("leader_fills (empty window)", lambda: venue.leader_fills(swing, now, now), 500)

    def fresh_board() -> Any:
        clock.now += MS_PER_MINUTE  # defeat the per-now cache
        return venue.leaderboard(30)

    cost("leaderboard (200 leaders, uncached)", fresh_board, 10)
    cost("leaderboard (same now, cached)", lambda: venue.leaderboard(7), 50)
    cost("leader_state", lambda: venue.leader_state(swing), 200)
    cost("leader_portfolio (91 days)", lambda: venue.leader_portfolio(swing), 50)
    cost("order_book", lambda: venue.order_book("ETH"), 200)
    cost("mids", venue.mids, 200)
    counter = iter(range(10**9))
    price = run(venue.order_book("ETH")).asks[3].price
    cost(
        "place_order (IOC, 2 levels)",
        lambda: venue.place_order(_order(f"c{next(counter)}", "ETH", True, 1.0, price)),
        200,
    )


def test_world_helpers_and_swappable_clock(world: SimWorld, venue: SimVenue) -> None:
    assert world.leader_addresses() == world.leaders == tuple(sorted(world.leaders))
    later = world.start_ms + 3 * MS_PER_DAY
    assert world.mids_at(later)["BTC"] == world.price_at("BTC", later)
    venue.now_ms = lambda: later  # a restarted engine hands the venue its new clock
    assert run(venue.account_snapshot()).time_ms == later
    assert run(venue.mids())["BTC"] == pytest.approx(world.price_at("BTC", later), rel=1e-5)
