"""Followers (SPEC §E10): a follower's share of a copied trade, and who follows whom."""

from __future__ import annotations

import math

import pytest

from tailgate.domain.followers import (
    ALL_LEADERS,
    Follower,
    Subscription,
    follower_entry,
    subscriptions_for,
)
from tailgate.domain.models import Action, LeaderTrade, Market, Side
from tailgate.domain.reasons import ReasonCode

BTC = Market("BTC", sz_decimals=5, max_leverage=40)
ALICE = Follower("alice", signer="0xa", capital_usd=10_000)


def trade(size: float = 2.0, price: float = 60_000.0, leader: str = "0xL") -> LeaderTrade:
    return LeaderTrade(leader, "BTC", Side.LONG, Action.OPEN, size, price, 0, 1, 0.0, size)


def entry(sub: Subscription, follower: Follower = ALICE, price: float = 60_000.0):
    return follower_entry(trade(), follower, sub, price=price, market=BTC, min_notional_usd=10.0)


def test_the_follower_copies_the_leaders_notional_times_its_ratio_on_the_venues_lot():
    # leader: 2 BTC at 60,000 = $120,000; ratio 0.01 → $1,200 → 0.02 BTC at 60,000
    e = entry(Subscription("alice", "0xL", ratio=0.01))
    assert e.reason is None
    assert e.notional_usd == pytest.approx(1_200.0)
    assert e.size == 0.02
    # at a worse price the same dollars buy fewer coins, rounded down to 5 decimals
    assert entry(Subscription("alice", "0xL", ratio=0.01), price=60_300.0).size == 0.0199


def test_the_smaller_of_the_subscription_and_follower_caps_wins():
    sub = Subscription("alice", "0xL", ratio=0.1, max_order_usd=3_000)  # $12,000 asked
    assert entry(sub).notional_usd == 3_000
    capped = Follower("alice", signer="0xa", capital_usd=10_000, max_order_usd=600)
    assert entry(sub, capped).notional_usd == 600
    assert entry(sub, capped).size == 0.01


def test_below_the_venue_minimum_is_refused_with_its_reason():
    e = entry(Subscription("alice", "0xL", ratio=5e-5))  # $6 < $10
    assert (e.size, e.reason) == (0.0, ReasonCode.SIZE_BELOW_VENUE_MINIMUM)


def test_no_usable_price_is_refused_not_guessed():
    e = entry(Subscription("alice", "0xL", ratio=0.01), price=math.nan)
    assert (e.size, e.reason) == (0.0, ReasonCode.PRICE_UNAVAILABLE)


def test_a_subscription_to_the_leader_wins_over_one_to_every_leader():
    followers = {
        "alice": ALICE,
        "bob": Follower("bob", signer="0xb", capital_usd=5_000),
        "carol": Follower("carol", signer="0xc", capital_usd=5_000, enabled=False),
        "dave": Follower("dave", signer="0xd", capital_usd=5_000),
    }
    subs = {
        "alice": {
            ALL_LEADERS: Subscription("alice", ALL_LEADERS, 0.01),
            "0xL": Subscription("alice", "0xL", 0.5),
        },
        "bob": {ALL_LEADERS: Subscription("bob", ALL_LEADERS, 0.02)},
        "carol": {"0xL": Subscription("carol", "0xL", 0.1)},  # follower disabled
        "dave": {"0xL": Subscription("dave", "0xL", 0.1, enabled=False)},
        "ghost": {"0xL": Subscription("ghost", "0xL", 0.1)},  # no such follower
    }
    got = {f.account: s.ratio for f, s in subscriptions_for("0xL", followers, subs)}
    assert got == {"alice": 0.5, "bob": 0.02}
    assert {f.account for f, _ in subscriptions_for("0xOther", followers, subs)} == {
        "alice",
        "bob",
    }


@pytest.mark.parametrize(
    "make",
    [
        lambda: Follower("", signer="0xa", capital_usd=1),
        lambda: Follower("a", signer="", capital_usd=1),
        lambda: Follower("a", signer="0xa", capital_usd=0),
        lambda: Follower("a", signer="0xa", capital_usd=math.inf),
        lambda: Follower("a", signer="0xa", capital_usd=1, max_order_usd=-5),
        lambda: Subscription("a", "0xL", ratio=0),
        lambda: Subscription("a", "0xL", ratio=math.nan),
        lambda: Subscription("a", "", ratio=1),
        lambda: Subscription("a", "0xL", ratio=1, max_order_usd=0),
    ],
)
def test_bad_follower_configuration_is_refused_with_a_clear_error(make):
    with pytest.raises(ValueError):
        make()
