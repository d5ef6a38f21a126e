"""Followers on the simulator (SPEC §E10): one leader trade fans out to every subscribed
follower, each trading its own account through its own gateway; a follower whose venue fails
on every order leaves the others — and the house — exactly as they would have been."""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from tailgate.backtest.fingerprint import store_fingerprint
from tailgate.config import load_settings
from tailgate.domain.followers import ALL_LEADERS, Follower, Subscription
from tailgate.domain.reasons import ReasonCode
from tailgate.engine.clock import SimClock
from tailgate.engine.sim_session import (
    SimFollowerVenues,
    build_world,
    run_engine_on_clock,
    run_sim_session,
)
from tailgate.logs import configure_logging
from tailgate.store import Store
from tailgate.store.records import OrderPurpose, OrderState, PositionStatus
from tailgate.venues.protocols import AccountState, OrderGateway, OrderRequest, OrderResult
from tailgate.venues.sim import SimVenue

pytestmark = pytest.mark.integration

DAYS = 6
FOLLOWERS = (
    Follower("alice", signer="0xa11ce", capital_usd=50_000),
    Follower("bob", signer="0xb0b", capital_usd=20_000, max_order_usd=2_000),
    Follower("dust", signer="0xd057", capital_usd=1_000),
    Follower("broken", signer="0xb40c3", capital_usd=10_000),
)
SUBSCRIPTIONS = (
    Subscription("alice", ALL_LEADERS, ratio=0.05),
    Subscription("bob", ALL_LEADERS, ratio=0.05),
    Subscription("dust", ALL_LEADERS, ratio=1e-9),  # always below the venue's $10 minimum
    Subscription("broken", ALL_LEADERS, ratio=0.05),
)


class BrokenGateway:
    """A follower whose venue answers every order with a transport error."""

    def __init__(self, venue: SimVenue) -> None:
        self._venue = venue
        self.attempts = 0

    async def place_order(self, request: OrderRequest) -> OrderResult:
        self.attempts += 1
        raise ConnectionError("venue unreachable")

    async def cancel_order(self, client_order_id: str) -> bool:
        raise ConnectionError("venue unreachable")

    async def order_by_client_id(self, client_order_id: str) -> OrderResult | None:
        raise ConnectionError("venue unreachable")


def _house_only(tmp_path: Path) -> str:
    settings = load_settings(database_url=f"sqlite:///{tmp_path}/house.db", workdir=tmp_path)
    session = asyncio.run(run_sim_session(settings, days=DAYS))
    try:
        markets = {m.coin: m for m in session.world.markets}
        return store_fingerprint(session.store, markets, settings.paper_account)
    finally:
        session.store.close()


def test_followers_copy_what_the_house_copies_and_a_broken_one_harms_no_one(tmp_path):
    configure_logging("WARNING", "json", tmp_path / "engine.log")
    settings = load_settings(database_url=f"sqlite:///{tmp_path}/t.db", workdir=tmp_path)
    store = Store.open(settings.resolved_database_url())
    for f in FOLLOWERS:
        store.save_follower(f, 0)
    for sub in SUBSCRIPTIONS:
        store.save_subscription(sub, 0)
    world = build_world(settings, DAYS)
    clock = SimClock(world.config.start_ms, world.config.start_ms + DAYS * 86_400_000)
    venue = SimVenue(world, clock.now_ms, account_value=settings.paper_starting_balance_usd)
    sims = SimFollowerVenues(  # persistent: their logs say what each venue did
        world, clock.now_ms, store, resume=False, state_path=tmp_path / "venue.db"
    )
    broken: list[BrokenGateway] = []

    def follower_venue(f: Follower) -> tuple[OrderGateway, AccountState | None]:
        gateway, account = sims(f)
        if f.account == "broken":
            broken.append(BrokenGateway(sims.venues[f.account]))
            return broken[0], None
        return gateway, account

    engine, _ = asyncio.run(
        run_engine_on_clock(settings, clock, venue, store, follower_venue=follower_venue)
    )
    assert len(engine.followers) == 4

    orders = store.load_orders()
    entries: dict[str, dict[int, OrderState]] = defaultdict(dict)
    for o in orders:
        if o.purpose is OrderPurpose.ENTRY and o.leader_trade_id is not None:
            assert o.leader_trade_id not in entries[o.account], "one entry per trade and account"
            entries[o.account][o.leader_trade_id] = o.state
    house = entries[settings.paper_account]
    assert len(house) >= 5
    for follower in ("alice", "bob", "dust", "broken"):
        # every trade the house copied (whatever became of its own order) fanned out
        assert set(house) <= set(entries[follower]), follower
    filled = Counter(s for s in entries["alice"].values())
    assert filled[OrderState.FILLED] >= 5
    assert set(entries["dust"].values()) == {OrderState.SKIPPED}
    assert {o.reason for o in orders if o.account == "dust"} == {
        ReasonCode.SIZE_BELOW_VENUE_MINIMUM.value
    }
    bob_notional = [
        o.size * o.limit_price
        for o in orders
        if o.account == "bob" and o.purpose is OrderPurpose.ENTRY and o.size
    ]
    assert bob_notional and max(bob_notional) <= 2_000 * 1.0001  # the follower's own cap

    # the broken follower: every order it tried is UNKNOWN (never FAILED, never resent)
    assert broken[0].attempts >= 5
    assert {entries["broken"][t] for t in entries["broken"]} <= {
        OrderState.UNKNOWN,
        OrderState.SKIPPED,
    }
    assert engine.fanout.failed == 0  # a transport error is the executor's UNKNOWN, not a crash

    # each follower's venue fills are its rows; its open positions have their stops resting
    by_id = {o.id: o for o in orders}
    for account in ("alice", "bob"):
        sim = sims.venues[account]
        ours = {
            (f.fill_id, by_id[f.order_id].client_order_id)
            for f in store.load_fills()
            if by_id[f.order_id].account == account
        }
        assert ours and ours == {(v.fill_id, v.client_order_id) for v in sim.venue_fills()}
        resting = {o.client_order_id for o in asyncio.run(sim.open_orders())}
        desk = next(d for d in engine.desks if d.account == account)
        for p in store.load_positions(status=PositionStatus.OPEN, account=account):
            stop = desk.positions.stop_of(p.id or -1)
            assert stop is not None and stop.client_order_id in resting
    sims.close()

    # the house traded exactly as it does with no followers at all
    markets = {m.coin: m for m in world.markets}
    assert store_fingerprint(store, markets, settings.paper_account) == _house_only(tmp_path)
    store.close()
