"""Followers (SPEC §E10): accounts that copy what the engine copies, each with its own signer.

The engine's pipeline (§C3) judges a leader's trade once; a follower subscribed to that leader
(or to every leader, `ALL_LEADERS`) then gets an order of its own: the leader's notional times
the subscription's ratio, capped by the subscription's and the follower's maximum order, in
coins rounded down to the venue's lot. An order below the venue's minimum is not sent: it is a
`FollowerEntry` with a reason, written SKIPPED like any refused intent (§E3).

Pure: sizing one follower is a handful of float operations, so one trade fans out to 10,000
followers in milliseconds — the engine gathers the state, this module decides.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from tailgate.domain.models import LeaderTrade, Market
from tailgate.domain.precision import round_size
from tailgate.domain.reasons import ReasonCode

__all__ = [
    "ALL_LEADERS",
    "Follower",
    "FollowerEntry",
    "Subscription",
    "follower_entry",
    "subscriptions_for",
]

ALL_LEADERS = "*"
"""A subscription to this leader follows every leader the engine copies."""


def _positive_or_none(name: str, value: float | None) -> None:
    if value is not None and not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive number or unset, got {value!r}")


@dataclass(frozen=True, slots=True)
class Follower:
    """A follower account: its orders are signed by `signer` (one at a time per signer, §E6);
    funds and settlement go through `proxy` (one at a time per proxy). `capital_usd` is the
    paper account's starting balance."""

    account: str
    signer: str
    capital_usd: float
    proxy: str | None = None
    max_order_usd: float | None = None
    daily_volume_cap_usd: float | None = None
    daily_loss_cap_usd: float | None = None
    enabled: bool = True

    def __post_init__(self) -> None:
        if not self.account or not self.account.strip():
            raise ValueError("a follower needs an account name")
        if not self.signer or not self.signer.strip():
            raise ValueError(f"follower {self.account!r} needs a signer")
        if not (math.isfinite(self.capital_usd) and self.capital_usd > 0):
            raise ValueError(
                f"follower {self.account!r}: capital_usd must be positive, got {self.capital_usd!r}"
            )
        _positive_or_none("max_order_usd", self.max_order_usd)
        _positive_or_none("daily_volume_cap_usd", self.daily_volume_cap_usd)
        _positive_or_none("daily_loss_cap_usd", self.daily_loss_cap_usd)

    @property
    def proxy_or_signer(self) -> str:
        """The wallet fund operations are serialised on."""
        return self.proxy or self.signer


@dataclass(frozen=True, slots=True)
class Subscription:
    """Follower ↔ leader: copy the leader's trades at `ratio` of their notional, at most
    `max_order_usd` per order."""

    follower: str
    leader: str
    ratio: float
    max_order_usd: float | None = None
    enabled: bool = True

    def __post_init__(self) -> None:
        if not self.leader:
            raise ValueError("a subscription needs a leader address (or '*')")
        if not (math.isfinite(self.ratio) and self.ratio > 0):
            raise ValueError(f"ratio must be positive, got {self.ratio!r}")
        _positive_or_none("max_order_usd", self.max_order_usd)


@dataclass(frozen=True, slots=True)
class FollowerEntry:
    """One follower's share of a copied trade: a size in coins, or why there is none."""

    follower: Follower
    subscription: Subscription
    size: float  # coins, on the venue's lot; 0 when refused
    notional_usd: float  # what was asked before rounding and the venue minimum
    reason: ReasonCode | None = None


def subscriptions_for(
    leader: str,
    followers: Mapping[str, Follower],
    subscriptions: Mapping[str, Mapping[str, Subscription]],
) -> Iterable[tuple[Follower, Subscription]]:
    """Every enabled follower following `leader`: its own subscription to that leader wins
    over its subscription to all leaders. `subscriptions` is follower → leader → subscription.
    """
    for account, by_leader in subscriptions.items():
        follower = followers.get(account)
        if follower is None or not follower.enabled:
            continue
        sub = by_leader.get(leader) or by_leader.get(ALL_LEADERS)
        if sub is not None and sub.enabled:
            yield follower, sub


def follower_entry(
    trade: LeaderTrade,
    follower: Follower,
    subscription: Subscription,
    *,
    price: float,
    market: Market,
    min_notional_usd: float,
) -> FollowerEntry:
    """The follower's entry for `trade` at `price` (the engine's entry price for it)."""
    notional = trade.value_usd * subscription.ratio
    for cap in (subscription.max_order_usd, follower.max_order_usd):
        if cap is not None and notional > cap:
            notional = cap
    if not (math.isfinite(notional) and math.isfinite(price) and price > 0):
        return FollowerEntry(follower, subscription, 0.0, notional, ReasonCode.PRICE_UNAVAILABLE)
    size = round_size(notional / price, market)
    if size <= 0 or size * price < min_notional_usd:
        return FollowerEntry(
            follower, subscription, 0.0, notional, ReasonCode.SIZE_BELOW_VENUE_MINIMUM
        )
    return FollowerEntry(follower, subscription, size, notional)
