"""Rate limits as data, and the one limiter that enforces them.

A venue's published budget is declared here (pools, per-request weights, WebSocket caps) and
enforced by `WeightedLimiter` (a weighted leaky bucket, `aiolimiter`) and `WsBudget` — never by
sleeps scattered through adapters. Weights are acquired *before* a request is sent; weight
that only becomes known from the response (items returned) is charged after it.

Hyperliquid's numbers come from its docs, "Rate limits and user limits"
(https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/rate-limits-and-user-limits):
per IP, REST requests share 1200 weight per minute; exchange actions weigh
1 + floor(batch_length / 40); info requests weigh 2 (l2Book, allMids, clearinghouseState,
orderStatus, spotClearinghouseState, exchangeStatus), 60 (userRole) or 20 (all others), and
some add weight per 20 items returned (per 60 for candleSnapshot); WebSocket: 100 connections,
1000 subscriptions, 10 unique users across user-specific subscriptions, 2000 messages sent per
minute, 100 inflight post messages. (Some later copies of that page list 10 simultaneous
connections and 30 new connections per minute; we open one or two, far below either figure.)
"""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from aiolimiter import AsyncLimiter

from tailgate.transport.errors import OverCapacityError
from tailgate.transport.metrics import TransportMetrics

__all__ = [
    "RateLimit",
    "RequestWeights",
    "VenueLimits",
    "WeightedLimiter",
    "WsBudget",
    "WsClaim",
    "WsLimits",
    "hyperliquid_action_weight",
    "hyperliquid_limits",
]


@dataclass(frozen=True, slots=True)
class RateLimit:
    """A pool: at most `capacity` weight per `window_s` seconds."""

    name: str
    capacity: int
    window_s: float

    def __post_init__(self) -> None:
        if self.capacity <= 0 or self.window_s <= 0:
            raise ValueError(f"rate limit {self.name}: capacity and window must be positive")


def _frozen(mapping: Mapping[str, int]) -> Mapping[str, int]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True, slots=True)
class RequestWeights:
    """Request kind → weight in one pool, plus weight charged per items returned."""

    pool: RateLimit
    default: int
    weights: Mapping[str, int] = field(default_factory=dict)
    items_per_weight: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "weights", _frozen(self.weights))
        object.__setattr__(self, "items_per_weight", _frozen(self.items_per_weight))

    def weight(self, kind: str) -> int:
        """The weight to acquire before sending a request of this kind."""
        return self.weights.get(kind, self.default)

    def extra_weight(self, kind: str, items: int) -> int:
        """Weight charged for `items` returned; rounded up so we never under-count."""
        per = self.items_per_weight.get(kind)
        if per is None or items <= 0:
            return 0
        return math.ceil(items / per)


@dataclass(frozen=True, slots=True)
class WsLimits:
    """WebSocket caps for one IP, across all of its connections."""

    max_connections: int
    max_subscriptions: int
    max_unique_users: int
    messages: RateLimit
    max_inflight_posts: int


@dataclass(frozen=True, slots=True)
class VenueLimits:
    """Everything one venue publishes about its budget."""

    venue: str
    rest: RateLimit
    info: RequestWeights
    ws: WsLimits


# Hyperliquid's published figures (see the module docstring for the source).
_HL_REST_WEIGHT_PER_MINUTE = 1200
_HL_INFO_DEFAULT_WEIGHT = 20
_HL_INFO_LIGHT_WEIGHT = 2
_HL_INFO_USER_ROLE_WEIGHT = 60
_HL_ITEMS_PER_WEIGHT = 20
_HL_CANDLE_ITEMS_PER_WEIGHT = 60
_HL_ACTION_BATCH_PER_WEIGHT = 40
_HL_LIGHT_INFO = (
    "l2Book",
    "allMids",
    "clearinghouseState",
    "orderStatus",
    "spotClearinghouseState",
    "exchangeStatus",
)
_HL_ITEMIZED_INFO = (
    "recentTrades",
    "historicalOrders",
    "userFills",
    "userFillsByTime",
    "fundingHistory",
    "userFunding",
    "nonUserFundingUpdates",
    "twapHistory",
    "userTwapSliceFills",
    "userTwapSliceFillsByTime",
    "delegatorHistory",
    "delegatorRewards",
    "validatorStats",
)


def hyperliquid_action_weight(batch_length: int) -> int:
    """Weight of an /exchange action: 1 + floor(batch_length / 40) (1 for an unbatched one)."""
    return 1 + max(batch_length, 0) // _HL_ACTION_BATCH_PER_WEIGHT


def hyperliquid_limits() -> VenueLimits:
    """Hyperliquid's per-IP budget as data."""
    rest = RateLimit("hyperliquid_rest", _HL_REST_WEIGHT_PER_MINUTE, 60.0)
    weights = dict.fromkeys(_HL_LIGHT_INFO, _HL_INFO_LIGHT_WEIGHT)
    weights["userRole"] = _HL_INFO_USER_ROLE_WEIGHT
    per_items = dict.fromkeys(_HL_ITEMIZED_INFO, _HL_ITEMS_PER_WEIGHT)
    per_items["candleSnapshot"] = _HL_CANDLE_ITEMS_PER_WEIGHT
    return VenueLimits(
        venue="hyperliquid",
        rest=rest,
        info=RequestWeights(rest, _HL_INFO_DEFAULT_WEIGHT, weights, per_items),
        ws=WsLimits(
            max_connections=100,
            max_subscriptions=1000,
            max_unique_users=10,
            messages=RateLimit("hyperliquid_ws_messages", 2000, 60.0),
            max_inflight_posts=100,
        ),
    )


class WeightedLimiter:
    """One pool's budget, shared by every request that draws on it.

    A leaky bucket: up to `capacity` weight in a burst, refilled continuously at
    `capacity / window_s` per second, so a full minute's budget is never spent twice. Waiting
    callers with smaller weights are served first (aiolimiter's order); at our request rates,
    far under the budget, that never starves a heavy request for long.
    """

    def __init__(self, limit: RateLimit, *, metrics: TransportMetrics | None = None) -> None:
        self.limit = limit
        self._bucket = AsyncLimiter(limit.capacity, limit.window_s)
        self._metrics = metrics

    def has_capacity(self, weight: int) -> bool:
        return self._bucket.has_capacity(weight)

    async def acquire(self, weight: int) -> None:
        """Wait until `weight` fits in the pool, then take it."""
        if weight > self.limit.capacity:
            raise OverCapacityError(
                f"weight {weight} exceeds the whole {self.limit.name} pool "
                f"({self.limit.capacity} per {self.limit.window_s:g}s)"
            )
        if weight <= 0:
            return
        if self._bucket.has_capacity(weight):
            await self._bucket.acquire(weight)
            return
        loop = asyncio.get_running_loop()
        started = loop.time()
        await self._bucket.acquire(weight)
        if self._metrics is not None:
            self._metrics.limiter_waits.labels(self.limit.name).inc()
            self._metrics.limiter_wait_seconds.labels(self.limit.name).inc(loop.time() - started)

    async def charge(self, weight: int) -> None:
        """Account for weight the venue charged after the fact (items returned).

        The venue has already counted it, so our bucket must too; the caller waits for the
        room, which delays the next request rather than letting it overrun the budget.
        """
        await self.acquire(min(weight, self.limit.capacity))


@dataclass(frozen=True, slots=True)
class WsClaim:
    """What one stream holds of the IP's WebSocket caps; give it back with `WsBudget.release`."""

    subscriptions: int
    users: frozenset[str]


class WsBudget:
    """The IP-wide WebSocket caps (connections, subscriptions, unique users), shared by streams.

    A stream claims its share before it first connects and keeps it across reconnects, so a
    reconnect storm can never push the process over a cap the venue enforces by disconnecting.
    """

    def __init__(self, limits: WsLimits) -> None:
        self.limits = limits
        self.connections = 0
        self.subscriptions = 0
        self._users: Counter[str] = Counter()

    @property
    def users(self) -> frozenset[str]:
        return frozenset(self._users)

    def claim(self, subscriptions: int, users: Iterable[str] = ()) -> WsClaim:
        wanted_users = frozenset(users)
        limits = self.limits
        if self.connections + 1 > limits.max_connections:
            raise OverCapacityError(f"websocket connections cap {limits.max_connections} reached")
        if self.subscriptions + subscriptions > limits.max_subscriptions:
            raise OverCapacityError(
                f"{self.subscriptions} + {subscriptions} subscriptions exceed the cap "
                f"{limits.max_subscriptions}"
            )
        if len(self.users | wanted_users) > limits.max_unique_users:
            raise OverCapacityError(
                f"user-specific subscriptions would name more than {limits.max_unique_users} users"
            )
        self.connections += 1
        self.subscriptions += subscriptions
        self._users.update(wanted_users)
        return WsClaim(subscriptions, wanted_users)

    def release(self, claim: WsClaim) -> None:
        self.connections -= 1
        self.subscriptions -= claim.subscriptions
        self._users.subtract(claim.users)
        self._users += Counter()  # drop users no stream names any more
