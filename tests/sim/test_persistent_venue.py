"""SimVenue with a state file: it outlives our process like a real exchange (SPEC §E1).

Reopened on the same file over the same world, it answers every order it answered, holds the
same account and resting stops (which fire as if it had never closed), refuses a reused client
order id, and keeps its time high-water mark. Killed at any instant, it reopens whole.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import signal
import subprocess
import sys
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tailgate.domain.models import MS_PER_HOUR, MS_PER_MINUTE
from tailgate.domain.precision import round_price
from tailgate.venues.protocols import (
    AccountState,
    OpenOrder,
    OrderRequest,
    OrderResult,
    OrderStatus,
)
from tailgate.venues.sim import SimConfig, SimVenue, SimWorld
from tailgate.venues.sim.state_file import StateFileMismatch, VenueStateFile

T = TypeVar("T")

TINY = SimConfig(
    seed=5,
    history_days=1,
    forward_days=3,
    coins=("BTC", "ETH"),
    n_swing=1,
    n_position=0,
    n_noise=0,
    n_hft=0,
    n_overleveraged=0,
    n_tiny_win=0,
)
TINY_ACCOUNT = 100_000.0  # SimVenue's default account_value
REPO_ROOT = Path(__file__).resolve().parents[2]
KILL_AFTER_SECONDS = (0.05, 0.2, 0.35)  # one crash per round, at different depths


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


class Clock:
    def __init__(self, now_ms: int) -> None:
        self.now = now_ms

    def __call__(self) -> int:
        return self.now


@pytest.fixture(scope="module")
def world() -> SimWorld:
    return SimWorld(TINY)


def market_order(world: SimWorld, cid: str, coin: str, is_buy: bool, size: float, now: int):
    """An IOC order 1% through the last price: it fills against the book."""
    market = world.market(coin)
    assert market is not None
    price = world.price_at(coin, now) * (1.01 if is_buy else 0.99)
    return OrderRequest(cid, coin, is_buy, size, round_price(price, market, is_buy=is_buy))


def stop_order(world: SimWorld, cid: str, coin: str, is_buy: bool, size: float, trigger: float):
    market = world.market(coin)
    assert market is not None
    trigger = round_price(trigger, market)
    limit = round_price(trigger * (1.05 if is_buy else 0.95), market)
    return OrderRequest(cid, coin, is_buy, size, limit, reduce_only=True, trigger_price=trigger)


def first_cross_ms(world: SimWorld, coin: str, now: int, trigger: float, sell: bool) -> int:
    """The start of the first minute after `now` whose bar reaches `trigger`."""
    paths = world.paths
    idx = world.coin_index(coin)
    assert idx is not None
    below, above = (trigger, 1e18) if sell else (-1e18, trigger)
    k = paths.first_cross(idx, paths.minute_of(now), paths.n_minutes - 1, below=below, above=above)
    assert k > 0, "the path must reach the trigger within the world"
    return paths.t0_ms + k * MS_PER_MINUTE


def opening_script(world: SimWorld, now: int) -> list[OrderRequest]:
    """Fills on two coins, a reduction, a rejection, a stop that rests and one to cancel."""
    btc = world.price_at("BTC", now)
    return [
        market_order(world, "0xa1", "BTC", True, 0.2, now),
        market_order(world, "0xa2", "ETH", False, 3.0, now),
        market_order(world, "0xa3", "BTC", False, 0.05, now),
        OrderRequest("0xa4", "BTC", True, 0.000001, 1.0),  # off the lot: rejected
        stop_order(world, "0xs1", "BTC", False, 0.15, btc * 0.998),
        stop_order(world, "0xs2", "ETH", True, 3.0, world.price_at("ETH", now) * 1.5),
    ]


async def play(venue: SimVenue, orders: list[OrderRequest]) -> list[OrderResult]:
    return [await venue.place_order(o) for o in orders]


def test_a_reopened_venue_answers_its_orders_holds_the_account_and_fires_stops_as_if_never_closed(
    world: SimWorld, tmp_path: Path
) -> None:
    path = tmp_path / "venue.db"
    clock = Clock(world.start_ms)
    control = SimVenue(world, clock)  # never closed
    first = SimVenue(world, clock, state_path=path)
    script = opening_script(world, clock.now)
    assert run(play(first, script)) == run(play(control, script))
    assert run(first.cancel_order("0xs2")) is run(control.cancel_order("0xs2")) is True
    first.close()

    second = SimVenue(world, clock, state_path=path)
    for cid in ("0xa1", "0xa2", "0xa3", "0xa4", "0xs1", "0xs2"):
        assert run(second.order_by_client_id(cid)) == run(control.order_by_client_id(cid))
    assert run(second.order_by_client_id("0xa4")).status is OrderStatus.REJECTED
    assert run(second.order_by_client_id("0xs2")).status is OrderStatus.CANCELLED
    assert run(second.account_snapshot()) == run(control.account_snapshot())
    assert run(second.open_orders()) == run(control.open_orders())
    (resting,) = run(second.open_orders())
    assert (resting.client_order_id, resting.coin, resting.is_buy) == ("0xs1", "BTC", False)
    assert (resting.size, resting.limit_price) == (0.15, None)

    trigger = script[4].trigger_price
    assert trigger is not None
    clock.now = first_cross_ms(world, "BTC", clock.now, trigger, sell=True) + 5 * MS_PER_MINUTE
    fired = run(second.order_by_client_id("0xs1"))
    assert fired == run(control.order_by_client_id("0xs1"))
    assert fired is not None and fired.status is OrderStatus.FILLED
    assert run(second.open_orders()) == run(control.open_orders()) == []
    assert run(second.account_snapshot()) == run(control.account_snapshot())
    after = market_order(world, "0xa5", "ETH", True, 1.0, clock.now)  # venue ids carry on
    assert run(second.place_order(after)) == run(control.place_order(after))
    second.close()

    third = SimVenue(world, clock, state_path=path)  # the stop's fill survives too
    assert run(third.order_by_client_id("0xs1")) == fired
    assert run(third.account_snapshot()) == run(control.account_snapshot())
    assert [f.fill_id for f in third.venue_fills()][-2:] == [
        fired.fills[0].fill_id,
        run(control.order_by_client_id("0xa5")).fills[0].fill_id,
    ]
    third.close()


def test_a_duplicate_sent_to_a_reopened_venue_gets_the_first_answer_and_is_logged(
    world: SimWorld, tmp_path: Path
) -> None:
    path = tmp_path / "venue.db"
    clock = Clock(world.start_ms)
    first = SimVenue(world, clock, state_path=path)
    order = market_order(world, "0xdup", "BTC", True, 0.1, clock.now)
    answer = run(first.place_order(order))
    first.close()

    clock.now += MS_PER_HOUR
    second = SimVenue(world, clock, state_path=path)
    again = market_order(world, "0xdup", "BTC", True, 0.1, clock.now)  # another limit, same id
    assert run(second.place_order(again)) == answer
    assert run(second.account_snapshot()).positions[0].size == 0.1  # traded once
    assert second.submissions_by_client_id() == {"0xdup": 2}
    log = second.submissions()
    assert [(s.duplicate, s.time_ms) for s in log] == [
        (False, world.start_ms),
        (True, world.start_ms + MS_PER_HOUR),
    ]
    assert (log[1].limit_price, log[1].coin, log[1].is_buy) == (again.limit_price, "BTC", True)
    assert len(second.venue_fills()) == len(answer.fills)
    second.close()


def test_last_time_ms_is_the_latest_commit_or_settled_minute_and_survives_a_reopen(
    world: SimWorld, tmp_path: Path
) -> None:
    path = tmp_path / "venue.db"
    t0 = world.start_ms
    clock = Clock(t0)
    venue = SimVenue(world, clock, state_path=path)
    assert venue.last_time_ms is None
    run(venue.place_order(market_order(world, "0xl1", "BTC", True, 0.1, t0)))
    assert venue.last_time_ms == t0
    clock.now = t0 + 10 * MS_PER_MINUTE
    run(venue.mids())  # nothing rests: nothing to settle, nothing committed
    assert venue.last_time_ms == t0
    btc = world.price_at("BTC", clock.now)
    run(venue.place_order(stop_order(world, "0xl2", "BTC", False, 0.1, btc * 0.5)))
    assert venue.last_time_ms == t0 + 10 * MS_PER_MINUTE
    clock.now = t0 + 30 * MS_PER_MINUTE
    run(venue.account_snapshot())  # a new minute of bars settled against the resting stop
    assert venue.last_time_ms == t0 + 30 * MS_PER_MINUTE
    venue.close()

    clock.now = t0  # a restarted engine with its clock wrongly at the start
    reopened = SimVenue(world, clock, state_path=path)
    assert reopened.last_time_ms == t0 + 30 * MS_PER_MINUTE
    run(reopened.place_order(market_order(world, "0xl3", "BTC", False, 0.1, t0)))
    assert reopened.last_time_ms == t0 + 30 * MS_PER_MINUTE  # an exchange's time never goes back
    reopened.close()


def test_a_failed_commit_leaves_the_venue_as_the_file_says(
    world: SimWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock(world.start_ms)
    venue = SimVenue(world, clock, state_path=tmp_path / "venue.db")
    run(venue.place_order(market_order(world, "0xok", "BTC", True, 0.1, clock.now)))
    before = run(venue.account_snapshot())

    def disk_full(self: VenueStateFile, *args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(VenueStateFile, "commit", disk_full)
    with pytest.raises(OSError, match="disk full"):
        run(venue.place_order(market_order(world, "0xlost", "BTC", True, 0.3, clock.now)))
    monkeypatch.undo()
    assert run(venue.order_by_client_id("0xlost")) is None  # never happened
    assert run(venue.account_snapshot()) == before
    assert venue.submissions_by_client_id() == {"0xok": 1}
    venue.close()


def test_a_file_belongs_to_one_world_and_one_fee_rate(world: SimWorld, tmp_path: Path) -> None:
    path = tmp_path / "venue.db"
    SimVenue(world, Clock(world.start_ms), state_path=path).close()
    other = SimWorld(dataclasses.replace(TINY, seed=TINY.seed + 1))
    with pytest.raises(StateFileMismatch, match="another world"):
        SimVenue(other, Clock(world.start_ms), state_path=path)
    with pytest.raises(StateFileMismatch, match="fee_rate"):
        SimVenue(world, Clock(world.start_ms), fee_rate=0.001, state_path=path)


def test_a_venue_with_a_file_is_the_truth_and_refuses_a_restore(
    world: SimWorld, tmp_path: Path
) -> None:
    venue = SimVenue(world, Clock(world.start_ms), state_path=tmp_path / "venue.db")
    with pytest.raises(RuntimeError, match="reconcile"):
        venue.restore_account(1.0, [])
    venue.close()


def test_without_a_state_path_the_venue_is_as_before_and_writes_nothing(
    world: SimWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    clock = Clock(world.start_ms)
    memory = SimVenue(world, clock)
    persisted = SimVenue(world, clock, state_path=tmp_path / "sub" / "venue.db")
    script = opening_script(world, clock.now)
    assert run(play(memory, script)) == run(play(persisted, script))
    assert run(memory.account_snapshot()) == run(persisted.account_snapshot())
    assert isinstance(memory, AccountState)
    assert memory.state_path is None and memory.last_time_ms is None
    with pytest.raises(RuntimeError, match="state_path"):
        memory.submissions_by_client_id()
    with pytest.raises(RuntimeError, match="state_path"):
        memory.venue_fills()
    persisted.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sub"]  # nothing of the memory venue


def test_open_orders_lists_the_resting_stops_by_client_order_id(world: SimWorld) -> None:
    clock = Clock(world.start_ms)
    venue = SimVenue(world, clock)
    btc, eth = world.price_at("BTC", clock.now), world.price_at("ETH", clock.now)
    run(venue.place_order(stop_order(world, "0xz", "BTC", False, 0.1, btc * 0.5)))
    run(venue.place_order(stop_order(world, "0xy", "ETH", True, 2.0, eth * 2.0)))
    assert run(venue.open_orders()) == [
        OpenOrder("0xy", "ETH", True, 2.0, round_price(eth * 2.0, world.market("ETH")), None),
        OpenOrder("0xz", "BTC", False, 0.1, round_price(btc * 0.5, world.market("BTC")), None),
    ]
    assert run(venue.cancel_order("0xz")) is True
    assert [o.client_order_id for o in run(venue.open_orders())] == ["0xy"]


# --- a venue killed at random instants -------------------------------------------------------

CHILD = "import sys; from pathlib import Path; from tests.sim.test_persistent_venue import churn; "
CHILD += "churn(Path(sys.argv[1]), int(sys.argv[2]))"


def churn(path: Path, round_no: int) -> None:
    """Send orders to the venue in `path` until killed: fills on two coins, stops, cancels and
    resent ids, 20 simulated seconds apart from where the venue's time stands."""
    world = SimWorld(TINY)
    clock = Clock(world.start_ms)
    venue = SimVenue(world, clock, state_path=path)
    clock.now = venue.last_time_ms or world.start_ms

    async def loop() -> None:
        sent: list[OrderRequest] = []
        stops: list[str] = []
        print("ready", flush=True)
        for i in range(1_000_000):
            clock.now += 20_000
            coin = ("BTC", "ETH")[i % 2]
            price = world.price_at(coin, clock.now)
            if i % 5 == 4:
                await venue.place_order(sent[-3])  # a retry of an answered id
            elif i % 7 == 6:
                stop = stop_order(world, f"0x{round_no}s{i}", coin, i % 3 == 0, 0.01, price)
                stops.append(stop.client_order_id)
                await venue.place_order(stop)
            elif i % 11 == 10 and stops:
                await venue.cancel_order(stops.pop(0))
            else:
                size = 0.01 if coin == "BTC" else 0.5
                order = market_order(world, f"0x{round_no}m{i}", coin, i % 3 != 1, size, clock.now)
                sent.append(order)
                await venue.place_order(order)

    asyncio.run(loop())


def _kill_mid_churn(path: Path, round_no: int, after_s: float) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), str(round_no)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        time.sleep(after_s)
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL, "the child died on its own"
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        if child.stdout is not None:
            child.stdout.close()


def _assert_whole(world: SimWorld, venue: SimVenue) -> None:
    """Every sent id has an answer, every fill belongs to its answer, the account is the sum of
    the fills, and a resent id is a duplicate every time after the first."""
    log = venue.submissions()
    fills = venue.venue_fills()

    async def answers() -> list[OrderResult | None]:
        return [await venue.order_by_client_id(cid) for cid in {s.client_order_id for s in log}]

    assert None not in run(answers())
    seen: set[str] = set()
    for s in log:
        assert s.duplicate is (s.client_order_id in seen)
        seen.add(s.client_order_id)
    assert len({f.fill_id for f in fills}) == len(fills)
    by_answer = {f.fill_id for a in venue.orders.answers.values() for f in a.fills}
    assert by_answer == {f.fill_id for f in fills}
    held: dict[str, float] = {}
    for f in fills:
        held[f.coin] = held.get(f.coin, 0.0) + (f.size if f.is_buy else -f.size)
    for coin, size in held.items():
        market = world.market(coin)
        assert market is not None
        held[coin] = round(size, market.sz_decimals)
    snapshot = run(venue.account_snapshot())
    assert {p.coin: p.size * p.side.sign for p in snapshot.positions} == {
        coin: size for coin, size in held.items() if size != 0
    }
    account = venue.account
    assert math.isclose(account.fees_paid, sum(f.fee for f in fills), rel_tol=1e-9)
    assert math.isclose(
        account.collateral, TINY_ACCOUNT + account.realised_pnl - account.fees_paid, rel_tol=1e-12
    )


def test_a_venue_killed_at_random_instants_reopens_whole(world: SimWorld, tmp_path: Path) -> None:
    path = tmp_path / "venue.db"
    sent_before = 0
    last_time: int | None = None
    for round_no, after_s in enumerate(KILL_AFTER_SECONDS):
        _kill_mid_churn(path, round_no, after_s)
        clock = Clock(world.start_ms)
        venue = SimVenue(world, clock, state_path=path)
        try:
            sent = sum(venue.submissions_by_client_id().values())
            assert sent > sent_before, "the child should have sent orders before its death"
            assert venue.last_time_ms is not None
            clock.now = venue.last_time_ms  # a restarted engine resumes the venue's time
            assert last_time is None or venue.last_time_ms > last_time  # resumed, not restarted
            _assert_whole(world, venue)
            assert any(s.duplicate for s in venue.submissions())
            assert any(s.trigger_price is not None for s in venue.submissions())
            sent_before, last_time = sent, venue.last_time_ms
            stop_fills = [f for f in venue.venue_fills() if f.client_order_id[3] == "s"]
        finally:
            venue.close()
    assert stop_fills, "stops should have fired (and been committed) along the way"
