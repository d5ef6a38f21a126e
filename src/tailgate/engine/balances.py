"""Preflight balance cache (SPEC §E8): check margin before sending, without a request per order.

Every entry is checked against the account before it is sent, so a venue reject for missing
margin becomes a recorded skip instead. Copies arrive in bursts; the account snapshot behind the
check is shared single-flight and reused for a short TTL, and our own fills invalidate it —
they are the one change to the balance we know about the moment it happens.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable

from tailgate.domain.reasons import ReasonCode
from tailgate.engine.quotes import TtlCache
from tailgate.logs import get_logger
from tailgate.venues.protocols import AccountSnapshot, AccountState

__all__ = ["BalanceCache", "preflight", "required_margin"]

log = get_logger("tailgate.balances")

STALE_FACTOR = 6  # with read-ahead, a snapshot up to this many TTLs old is served meanwhile


class BalanceCache:
    """The account snapshot, fetched single-flight and reused for `ttl_ms` of the clock.

    Call `invalidate()` when one of our own fills lands: a snapshot fetch already in flight
    then is not reused either, since it may predate the fill. Reconciliation should read the
    venue directly, not this cache. With `read_ahead` (an engine on a pushed feed, where a copy
    must not wait for a read), an invalidation starts the next read at once, in the background,
    and a snapshot past its TTL (but younger than STALE_FACTOR TTLs) is still served while a
    read in the background replaces it: only our own fills change the balance the moment they
    happen, and they are read ahead.
    """

    def __init__(self, account: AccountState, now_ms: Callable[[], int], ttl_ms: int) -> None:
        self._account = account
        self._cache: TtlCache[None, AccountSnapshot] = TtlCache(now_ms, ttl_ms)
        self.read_ahead = False
        self._ahead: set[asyncio.Task[AccountSnapshot]] = set()

    @property
    def hits(self) -> int:
        return self._cache.hits

    @property
    def misses(self) -> int:
        return self._cache.misses

    @property
    def shared(self) -> int:
        return self._cache.shared

    async def snapshot(self) -> AccountSnapshot:
        if self.read_ahead and self._cache.peek(None) is None:
            stale = self._cache.peek(None, self._cache.ttl_ms * STALE_FACTOR)
            if stale is not None:
                self._read_ahead()
                return stale
        return await self._cache.get(None, self._account.account_snapshot)

    async def refresh(self) -> AccountSnapshot:
        """Read the snapshot ahead of need (streaming: kept fresh so a copy never waits)."""
        return await self._cache.refresh(None, self._account.account_snapshot)

    def invalidate(self) -> None:
        self._cache.invalidate()
        if self.read_ahead:
            self._read_ahead(after_fill=True)

    def _read_ahead(self, *, after_fill: bool = False) -> None:
        if self._ahead and not after_fill:  # one at a time; a fill's own read always starts
            return
        task = asyncio.get_running_loop().create_task(self.refresh(), name="balance-ahead")
        self._ahead.add(task)
        task.add_done_callback(self._landed)

    def _landed(self, task: asyncio.Task[AccountSnapshot]) -> None:
        self._ahead.discard(task)
        if not task.cancelled() and task.exception() is not None:  # a copy reads it then
            log.warning("balance_read_ahead_failed", error=repr(task.exception()))


def required_margin(order_notional: float, leverage: float) -> float:
    """Initial margin an isolated position of this notional locks: notional / leverage."""
    if not (math.isfinite(leverage) and leverage > 0):
        raise ValueError(f"leverage must be finite and > 0, got {leverage!r}")
    return order_notional / leverage


def preflight(
    account_value: float,
    order_notional: float,
    leverage: float,
    reserve_fraction: float,
    margin_in_use: float = 0.0,
) -> ReasonCode | None:
    """None when the entry's margin fits in free collateral, else INSUFFICIENT_BALANCE.

    Rule (isolated margin, USD):
        free     = account_value × (1 − reserve_fraction) − margin_in_use
        required = order_notional / leverage
        ok  ⇔  required ≤ free

    The reserve is kept back for what follows the entry — fees, slippage, funding and the move
    to the protective stop — so an entry never takes the last dollar. `margin_in_use` is the
    margin our open positions already lock (the snapshot's account value includes it).
    For entries only: exits and stops release margin and are never held back by this check.
    Inputs that cannot be checked (not finite, negative, a non-positive notional) fail closed;
    a bad leverage or reserve is a configuration error and raises.
    """
    if not (math.isfinite(reserve_fraction) and 0 <= reserve_fraction < 1):
        raise ValueError(f"reserve_fraction must be in [0, 1), got {reserve_fraction!r}")
    required = required_margin(order_notional, leverage)
    if not (
        math.isfinite(account_value)
        and math.isfinite(order_notional)
        and order_notional > 0
        and math.isfinite(margin_in_use)
        and margin_in_use >= 0
    ):
        return ReasonCode.INSUFFICIENT_BALANCE
    free = account_value * (1 - reserve_fraction) - margin_in_use
    return None if required <= free else ReasonCode.INSUFFICIENT_BALANCE
