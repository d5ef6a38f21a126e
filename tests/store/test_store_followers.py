"""Followers, subscriptions and the fan-out's intents in the store (SPEC §E10)."""

from __future__ import annotations

import pytest

from tailgate.domain.followers import ALL_LEADERS, Follower, Subscription
from tailgate.store import DuplicateTradeError, Store, UnknownAccountError
from tailgate.store.records import OrderState
from tests.store.factories import T0, make_fill, make_order, make_signal, make_trade


def test_followers_and_subscriptions_round_trip_and_update(store: Store):
    alice = Follower("alice", signer="0xa", capital_usd=10_000, proxy="0xp", max_order_usd=500)
    store.save_follower(alice, T0)
    store.save_subscription(Subscription("alice", ALL_LEADERS, 0.01), T0)
    store.save_subscription(Subscription("alice", "0xL", 0.5, max_order_usd=100), T0)
    assert store.load_followers() == [alice]
    assert store.get_cash("alice") == 10_000  # its paper account exists
    changed = Follower("alice", signer="0xa2", capital_usd=10_000, enabled=False)
    store.save_follower(changed, T0 + 1)
    store.save_subscription(Subscription("alice", "0xL", 0.25), T0 + 1)
    assert store.load_followers() == [changed]
    assert store.load_subscriptions() == [
        Subscription("alice", ALL_LEADERS, 0.01),
        Subscription("alice", "0xL", 0.25),
    ]


def test_a_subscription_needs_its_follower(store: Store):
    with pytest.raises(UnknownAccountError):
        store.save_subscription(Subscription("nobody", "0xL", 0.1), T0)
    assert store.load_subscriptions() == []


def test_the_fanout_is_written_with_the_trade_in_one_transaction(store: Store):
    trade = make_trade(1)
    house = make_order("house")
    followers = [make_order(f"f{i}", account=f"acct{i}") for i in range(300)]
    followers[7].state, followers[7].reason = OrderState.SKIPPED, "SIZE_BELOW_VENUE_MINIMUM"
    recorded = store.record_trade(
        trade, make_signal(trade), seen_ms=T0, order=house, fanout=followers
    )
    assert all(o.id is not None for o in followers)
    assert len({o.id for o in followers}) == 300
    assert {o.leader_trade_id for o in followers} == {recorded.trade_id}
    assert {o.signal_id for o in followers} == {recorded.signal_id}
    stored = {o.client_order_id: o for o in store.load_orders()}
    assert stored["f7"].state is OrderState.SKIPPED
    assert stored["f123"].id == followers[123].id and stored["f123"].account == "acct123"
    assert len(store.load_orders(account="acct5")) == 1

    # the same trade again: nothing of it — neither the house's order nor any follower's
    again = [make_order(f"g{i}", account=f"acct{i}") for i in range(3)]
    with pytest.raises(DuplicateTradeError):
        store.record_trade(trade, make_signal(trade), seen_ms=T0, fanout=again)
    assert all(o.id is None for o in again)
    assert len(store.load_orders()) == 301


def test_traded_notional_by_account_sums_each_accounts_fills_since(store: Store):
    for account in ("a", "b"):
        store.ensure_account(account, 1_000, T0)
        order = make_order(f"cid-{account}", account=account)
        store.insert_order(order)
        order.state, order.filled_size = OrderState.FILLED, 0.1
        fill = make_fill(f"fill-{account}", price=100.0, size=2.0 if account == "a" else 1.0)
        store.record_order_outcome(order, [fill], None)
    totals = store.traded_notional_by_account(0)
    assert totals == {"a": pytest.approx(200.0), "b": pytest.approx(100.0)}
    assert store.traded_notional_by_account(10**15) == {}
