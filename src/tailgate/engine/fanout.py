"""Fan-out (SPEC §E10): one copied leader trade → an intent for every subscribed follower.

The pipeline judges a leader's trade once, for the house account; every follower subscribed to
that leader then gets its own intent (sized by `tailgate.domain.followers`), checked by its own
guardrails and written in the SAME transaction as the trade — a crash cannot copy a trade for
the house and lose it for a follower. The store's switches (kill switch, halts) and the day's
traded volume are read once per trade for all followers, not once per follower, so a trade
fans out to 10,000 followers well inside a second.

Sending is per follower desk, all at once: each order goes through its desk's executor (and
so its signer's lock, §E6); an exception in one follower's send is logged and counted and never
reaches another's. Leader exits (a mirrored Close / Reduce) fan out the same way.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Iterable, Mapping, Sequence

from tailgate.domain.followers import Follower, Subscription, follower_entry, subscriptions_for
from tailgate.domain.models import Action, LeaderTrade, Market, OrderType, Side
from tailgate.domain.precision import round_price
from tailgate.domain.reasons import ReasonCode
from tailgate.domain.signals import Signal
from tailgate.engine.desk import Desk
from tailgate.engine.execution import entry_intent
from tailgate.engine.guardrails import KILL_SWITCH_KEY, day_start, halted_key
from tailgate.engine.positions import close_obligation
from tailgate.logs import get_logger
from tailgate.store import Store
from tailgate.store.records import (
    ObligationRecord,
    OrderRecord,
    OrderState,
    PositionRecord,
    PositionStatus,
)
from tailgate.venues.hyperliquid.constants import MIN_ORDER_NOTIONAL_USD

__all__ = ["Fanout"]

log = get_logger("tailgate.fanout")

_HALTED_PREFIX = halted_key("")


class Fanout:
    def __init__(
        self,
        store: Store,
        desks: Iterable[Desk],
        subscriptions: Iterable[Subscription],
        markets: Mapping[str, Market],
        *,
        min_notional_usd: float = MIN_ORDER_NOTIONAL_USD,
    ) -> None:
        self._store = store
        self._markets = markets
        self._min_notional = min_notional_usd
        self.desks: dict[str, Desk] = {d.account: d for d in desks if d.follower is not None}
        self._followers: dict[str, Follower] = {
            a: d.follower for a, d in self.desks.items() if d.follower is not None
        }
        self._subs: dict[str, dict[str, Subscription]] = defaultdict(dict)
        for sub in subscriptions:
            if sub.follower in self.desks:
                self._subs[sub.follower][sub.leader] = sub
        self._volume_caps = any(
            d.guardrails.limits.daily_volume_cap_usd is not None for d in self.desks.values()
        )
        self.planned = 0
        self.skipped = 0
        self.failed = 0

    # ---- entries ------------------------------------------------------------------------

    def plan(
        self,
        trade: LeaderTrade,
        signal: Signal,
        now_ms: int,
        mids: Mapping[str, float],
        *,
        market_seen_ms: int | None,
    ) -> list[OrderRecord]:
        """The followers' intents for a trade the pipeline accepted: PENDING to send, or
        SKIPPED with the reason (below the venue's minimum, a guardrail). `mids` and
        `market_seen_ms` are the market data the pipeline judged the trade with."""
        pairs = list(subscriptions_for(trade.leader, self._followers, self._subs))
        if not pairs:
            return []
        market = self._markets.get(trade.coin)
        if market is None or mids.get(trade.coin) is None or signal.limit_price is None:
            log.warning("fanout_without_price", trade=trade.key, followers=len(pairs))
            return []
        is_buy = trade.side is Side.LONG
        limit = round_price(signal.limit_price, market, is_buy=is_buy)
        order_type = signal.order_type or OrderType.MARKET
        kill_switch = bool(self._store.get_state(KILL_SWITCH_KEY))
        halted = {
            key[len(_HALTED_PREFIX) :]
            for key, value in self._store.states_with_prefix(_HALTED_PREFIX).items()
            if value
        }
        volumes: Mapping[str, float] = {}
        if self._volume_caps:
            volumes = self._store.traded_notional_by_account(day_start(now_ms))
        orders: list[OrderRecord] = []
        for follower, sub in pairs:
            entry = follower_entry(  # sized at the limit: the worst price it may pay
                trade,
                follower,
                sub,
                price=limit,
                market=market,
                min_notional_usd=self._min_notional,
            )
            account = follower.account
            order = entry_intent(account, trade, entry.size, limit, order_type, "mid", now_ms)
            reason = entry.reason or self.desks[account].guardrails.judge(
                order,
                now_ms,
                mids,
                kill_switch=kill_switch,
                halted=account in halted,
                day_volume_usd=volumes.get(account, 0.0),
                market_seen_ms=market_seen_ms,
            )
            if reason is not None:
                order.state, order.reason = OrderState.SKIPPED, reason.value
                self.skipped += 1
            orders.append(order)
        self.planned += len(orders)
        return orders

    async def preflight(self, orders: Sequence[OrderRecord]) -> None:
        """§E8 for each planned follower entry whose desk knows its account: one that does
        not fit the follower's free margin becomes SKIPPED INSUFFICIENT_BALANCE. Checked
        all at once (each desk's balance cache is single-flight and TTL-bounded)."""
        pending = [
            o
            for o in orders
            if o.state is OrderState.PENDING and self.desks[o.account].executor.balances
        ]
        if not pending:
            return
        reasons = await asyncio.gather(
            *(self.desks[o.account].executor.preflight(o) for o in pending)
        )
        for order, reason in zip(pending, reasons, strict=True):
            if reason is not None:
                order.state, order.reason = OrderState.SKIPPED, reason.value
                self.skipped += 1

    async def execute(self, orders: Sequence[OrderRecord], now_ms: int) -> None:
        """Send every written PENDING intent, each through its own desk, all at once."""
        await self._each(
            (o.account, self._enter(self.desks[o.account], o, now_ms))
            for o in orders
            if o.state is OrderState.PENDING and o.account in self.desks
        )

    async def _enter(self, desk: Desk, order: OrderRecord, now_ms: int) -> None:
        await desk.executor.execute(order, now_ms, leader_trade_id=order.leader_trade_id)
        if order.position_id is None or order.filled_size <= 0:
            return
        position = desk.portfolio.get(order.position_id)
        if position is not None and position.status is PositionStatus.OPEN:
            await desk.positions.protect(position, now_ms)

    # ---- leader exits ---------------------------------------------------------------------

    def exit_targets(self, trade: LeaderTrade) -> list[tuple[Desk, PositionRecord]]:
        """Followers' open positions that copy the leader position this exit trade is on."""
        return [
            (desk, p)
            for desk in self.desks.values()
            for p in desk.portfolio.open_positions
            if p.leader == trade.leader and p.coin == trade.coin and p.side is trade.side
        ]

    def close_obligations(self, trade: LeaderTrade, now_ms: int) -> list[ObligationRecord]:
        """A mirrored Close owes every follower a flat position (written with the trade)."""
        return [
            close_obligation(p, ReasonCode.LEADER_CLOSED.value, now_ms)
            for _, p in self.exit_targets(trade)
        ]

    def wake(self, obligations: Sequence[ObligationRecord], now_ms: int) -> None:
        for account in {o.account for o in obligations}:
            desk = self.desks.get(account)
            if desk is not None:
                desk.obligations.wake(now_ms)

    async def mirror_exit(self, trade: LeaderTrade, now_ms: int, mids: Mapping[str, float]) -> None:
        """Close (or reduce, by the leader's fraction) every follower's copy of the position."""
        targets = self.exit_targets(trade)
        if not targets:
            return
        if trade.action is Action.CLOSE:
            fraction, reason = 1.0, ReasonCode.LEADER_CLOSED
        else:
            start = abs(trade.start_position)
            fraction = min(trade.size / start, 1.0) if start else 0.0
            reason = ReasonCode.LEADER_REDUCED
        jobs: list[tuple[str, Awaitable[None]]] = []
        for desk, position in targets:
            mark = mids.get(position.coin)
            if mark is None:
                log.warning("exit_without_price", account=desk.account, position=position.id)
                continue
            close = desk.positions.close_position(
                position, reason.value, now_ms, size=position.size * fraction, mark=mark
            )
            jobs.append((desk.account, close))
        await self._each(jobs)

    async def _each(self, jobs: Iterable[tuple[str, Awaitable[None]]]) -> None:
        """Run jobs concurrently; a failing one is logged and counted, the others go on
        (what it left unfinished is its desk's to settle: UNKNOWN intents, obligations)."""
        accounts, awaitables = [], []
        for account, job in jobs:
            accounts.append(account)
            awaitables.append(job)
        results = await asyncio.gather(*awaitables, return_exceptions=True)
        for account, result in zip(accounts, results, strict=True):
            if isinstance(result, BaseException):
                if not isinstance(result, Exception):  # cancellation, KeyboardInterrupt
                    raise result
                self.failed += 1
                log.error(
                    "follower_job_failed",
                    account=account,
                    error=f"{type(result).__name__}: {result}",
                )
