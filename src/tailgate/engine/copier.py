"""The copier: one leader trade from ingestion to an order (SPEC §C2–§C4, leader exits of §C5).

For each new leader trade: build the pipeline's context from the venue (leader account,
leverage, whether the position is still open; the current price) — or, when the engine keeps
leaders' states and the venue pushes books and mids, from memory (`leader_states.py`,
`QuoteCache.push_book`) — run the nine steps, then write the trade, its fill keys, the
signal, any deferral, the leader's position and the planned order (already SUBMITTED: this
process sends it next) in ONE transaction — and only then send the order. A crash before the commit
means the fills are fetched and judged again; after it, they are never processed again.
Deferred signals wait in a heap mirrored from the store and re-enter at step 4.

Every entry is priced by the §E9 chain (book walked to our size → mid → leader's fresh fill)
from one engine-wide quote cache (§E7), and checked against our margin (§E8) before it is
written; a copy that cannot be priced or paid for is written with its reason all the same.
"""

from __future__ import annotations

import asyncio
import heapq
import math
from collections.abc import Iterable, Mapping
from dataclasses import replace

from tailgate.domain import evaluate_trade, get_leverage_from_positions
from tailgate.domain.models import (
    Action,
    LeaderFill,
    LeaderState,
    LeaderTrade,
    OrderBook,
    Side,
    Tier,
    Trader,
)
from tailgate.domain.params import CopyParams
from tailgate.domain.pricing import PriceQuote, PriceSource, resolve_price
from tailgate.domain.reasons import ReasonCode
from tailgate.domain.signals import PipelineContext, Signal, SignalOutcome, StepDecision
from tailgate.engine.execution import OrderExecutor, claimed
from tailgate.engine.fanout import Fanout
from tailgate.engine.guardrails import Guardrails
from tailgate.engine.ingestion import Fetched, IngestionResult, LeaderTradeIngestor
from tailgate.engine.leader_states import LeaderStates
from tailgate.engine.leaders import LeaderBook
from tailgate.engine.portfolio import Portfolio
from tailgate.engine.positions import PositionManager, close_obligation
from tailgate.engine.quotes import QuoteCache
from tailgate.logs import get_logger
from tailgate.store import DuplicateTradeError, Store
from tailgate.store.records import (
    DeferredRecord,
    ObligationRecord,
    OrderRecord,
    OrderState,
    PositionRecord,
)
from tailgate.venues.protocols import FillPage, LeaderFeed, MarketData

__all__ = ["Copier"]

log = get_logger("tailgate.copier")

# §E9: a leader's fill older than this is not a price to trade at (the setting's default)
MAX_LEADER_FILL_AGE_MS = 60_000


def _rejected(trade: LeaderTrade, reason: ReasonCode, detail: str) -> Signal:
    """A signal stopped before the pipeline (leader not copied, blacklisted…)."""
    return Signal(
        trade=trade,
        outcome=SignalOutcome.REJECTED,
        reason=reason,
        steps=[StepDecision(0, "eligibility", False, reason, detail)],
    )


class Copier:
    def __init__(
        self,
        *,
        store: Store,
        feed: LeaderFeed,
        market: MarketData,
        ingestor: LeaderTradeIngestor,
        leaders: LeaderBook,
        executor: OrderExecutor,
        positions: PositionManager,
        portfolio: Portfolio,
        params: CopyParams,
        guardrails: Guardrails,
        mirror_leader_close: bool = True,
        mirror_leader_reduce: bool = False,
        fanout: Fanout | None = None,
        quotes: QuoteCache | None = None,
        max_leader_fill_age_ms: int = MAX_LEADER_FILL_AGE_MS,
        leader_states: LeaderStates | None = None,
    ) -> None:
        self._store = store
        self._feed = feed
        self._market = market
        self._ingestor = ingestor
        self._leaders = leaders
        self._executor = executor
        self._positions = positions
        self._portfolio = portfolio
        self._params = params
        self._guardrails = guardrails
        self._mirror_close = mirror_leader_close
        self._mirror_reduce = mirror_leader_reduce
        self._fanout = fanout  # followers (§E10): they copy what the house copies
        # §E7: books and mids for pricing; without an engine-wide cache, one that never reuses
        # (TTL 0) but still lets concurrent requests share a fetch
        self._quotes = quotes if quotes is not None else QuoteCache(market, lambda: 0, 0)
        self._max_leader_fill_age_ms = max_leader_fill_age_ms
        self._deferred: list[tuple[int, int, DeferredRecord]] = [
            (d.due_ms, d.id, d) for d in store.load_pending_deferred()
        ]
        heapq.heapify(self._deferred)
        self.last_ingestion = IngestionResult()
        self._ingesting = asyncio.Lock()
        self._states: dict[str, LeaderState] = {}  # read ahead for the trades being handled
        # leaders' states kept in memory (when streaming): a fresh trade is judged without a
        # read; `_after` holds what memory said for each entry of the batch being handled
        self._kept = leader_states
        self._after: dict[int, LeaderState] = {}

    @property
    def pending_deferred(self) -> int:
        return len(self._deferred)

    def leaders_to_poll(self) -> list[str]:
        """Primary leaders, plus any leader whose trade we still hold (to see their exits)."""
        wanted = {t.address for t in self._leaders.primary}
        wanted.update(p.leader for p in self._portfolio.open_positions if p.leader)
        return sorted(wanted)

    # ---- ingestion cycle ------------------------------------------------------------------

    async def ingest(self, now_ms: int) -> IngestionResult:
        """Poll the leaders (§C2) and copy what is new."""
        return await self.backfill(self.leaders_to_poll(), now_ms)

    async def backfill(self, leaders: Iterable[str], now_ms: int) -> IngestionResult:
        """Read these leaders' fills since their cursors over REST and copy what is new."""
        return await self._accept(await self._ingestor.fetch(leaders, now_ms), now_ms)

    async def ingest_pushed(self, page: FillPage, now_ms: int) -> IngestionResult:
        """Copy what a leader stream pushed; fills of leaders we do not poll are left out,
        as polling would leave them (the stream may still deliver a dropped leader's)."""
        wanted = set(self.leaders_to_poll())
        fills = [f for f in page.fills if f.leader in wanted]
        by_leader: dict[str, list[LeaderFill]] = {}
        for f in fills:
            by_leader.setdefault(f.leader, []).append(f)
        fetched = [Fetched(leader, FillPage(fs)) for leader, fs in by_leader.items()]
        if page.rejects:
            fetched.append(Fetched("stream", FillPage([], list(page.rejects))))
        return await self._accept(fetched, now_ms)

    async def _accept(self, fetched: list[Fetched], now_ms: int) -> IngestionResult:
        """One ingestion at a time (polled and pushed fills meet here): dedupe, then each new
        trade through the pipeline, in order."""
        async with self._ingesting:
            result = self._ingestor.accept(fetched, now_ms)
            self.last_ingestion = result
            if not result.trades:
                return result
            handled = 0
            try:
                mids = await self._prefetch(result.trades)
                self._guardrails.market_seen(now_ms)
                for trade in result.trades:
                    await self.handle_trade(trade, now_ms, mids)
                    handled += 1
            except BaseException:
                # not recorded: this trade and the ones after it (kept in order) are taken
                # again by the next look, never skipped as handled
                self._ingestor.forget(k for t in result.trades[handled:] for k in t.fill_keys)
                raise
            finally:
                self._states.clear()
                self._after.clear()
            return result

    async def _prefetch(self, trades: list[LeaderTrade]) -> Mapping[str, float]:
        """The mids, and what the entries among `trades` will need — each leader's state,
        each coin's book, our balance — read at once: one round trip to the venue instead
        of one after the other (SPEC §N: a copy's latency). A read that fails here is simply
        read again where it is needed; only the mids are needed by every trade."""
        entries = [
            t
            for t in trades
            if t.action in (Action.OPEN, Action.ADD)
            and (trader := self._leaders.get(t.leader)) is not None
            and trader.tier is Tier.PRIMARY
        ]
        if self._kept is not None:
            for t in entries:
                state = self._kept.after(t)
                if state is not None:
                    self._after[id(t)] = state
        leaders = sorted({t.leader for t in entries if id(t) not in self._after})
        coins = sorted({t.coin for t in entries})
        mids, *rest = await asyncio.gather(
            self._quotes.mids(),
            *(self._feed.leader_state(leader) for leader in leaders),
            *(self._book(coin) for coin in coins),
            self._executor.warm_balance() if entries else asyncio.sleep(0),
            return_exceptions=True,
        )
        if isinstance(mids, BaseException):
            raise mids
        for leader, state in zip(leaders, rest, strict=False):
            if isinstance(state, LeaderState):
                self._states[leader] = state
                if self._kept is not None:
                    self._kept.remember(state)
        return mids

    async def handle_trade(
        self, trade: LeaderTrade, now_ms: int, mids: Mapping[str, float]
    ) -> None:
        trader = self._leaders.get(trade.leader)
        position_after, position_closed = self._leaders.tracker.after(trade)
        if trade.action in (Action.REDUCE, Action.CLOSE):
            signal = evaluate_trade(
                trade,
                trader or _unknown(trade.leader),
                self._exit_context(now_ms, mids),
                self._params,
            )
        elif trader is None or trader.tier is not Tier.PRIMARY:
            signal = _rejected(trade, ReasonCode.LEADER_NOT_COPIED, "leader is not primary")
        elif trader.is_blacklisted(now_ms):
            signal = _rejected(trade, ReasonCode.LEADER_BLACKLISTED, trader.blacklist_reason or "")
        else:
            signal = await self._evaluate(trade, trader, now_ms, mids, reentry=False)
        followers = await self._plan_followers(signal, trade, now_ms, mids)
        order = claimed(await self._plan(signal, trade, now_ms, mids), now_ms)
        owed: list[ObligationRecord] = []
        if (
            signal.outcome is SignalOutcome.EXIT
            and trade.action is Action.CLOSE
            and self._mirror_close
        ):  # a leader's Close we mirror must happen even if we crash right after this commit
            owed = [
                close_obligation(p, ReasonCode.LEADER_CLOSED.value, now_ms)
                for p in self._mirror_targets(trade)
            ]
            if self._fanout is not None:
                owed += self._fanout.close_obligations(trade, now_ms)
        try:
            recorded = self._store.record_trade(
                trade,
                signal,
                seen_ms=now_ms,
                deferred_due_ms=signal.defer_until_ms
                if signal.outcome is SignalOutcome.DEFERRED
                else None,
                leader_position=position_after,
                close_leader_position=position_closed,
                order=order,
                obligations=owed,
                fanout=followers,
            )
        except DuplicateTradeError:
            log.info("leader_trade_duplicate", trade=trade.key)
            return
        self._leaders.tracker.apply(trade, position_after, position_closed)
        self._log_signal(signal, now_ms)
        if recorded.deferred_id is not None:
            assert signal.defer_until_ms is not None
            record = DeferredRecord(
                id=recorded.deferred_id,
                signal_id=recorded.signal_id,
                leader_trade_id=recorded.trade_id,
                trade=trade,
                due_ms=signal.defer_until_ms,
            )
            heapq.heappush(self._deferred, (record.due_ms, record.id, record))
        if owed:
            self._executor.on_obligation(now_ms)
            if self._fanout is not None:
                self._fanout.wake(owed, now_ms)
        if order is not None and order.state is OrderState.SUBMITTED:
            await self._enter(order, now_ms, recorded.trade_id)
        if followers and self._fanout is not None:
            await self._fanout.execute(followers, now_ms)
        if signal.outcome is SignalOutcome.EXIT:
            await self._mirror_exit(trade, now_ms, mids)

    # ---- deferred signals -----------------------------------------------------------------

    async def process_deferred(self, now_ms: int) -> int:
        """Re-enter every due deferred signal at step 4."""
        done = 0
        mids: Mapping[str, float] | None = None
        while self._deferred and self._deferred[0][0] <= now_ms:
            _, _, record = heapq.heappop(self._deferred)
            if mids is None:
                mids = await self._quotes.mids()
                self._guardrails.market_seen(now_ms)
            trade = record.trade
            trader = self._leaders.get(trade.leader)
            if trader is None or trader.tier is not Tier.PRIMARY:
                signal = _rejected(
                    trade, ReasonCode.LEADER_NOT_COPIED, "leader is no longer primary"
                )
            elif trader.is_blacklisted(now_ms):
                signal = _rejected(
                    trade, ReasonCode.LEADER_BLACKLISTED, trader.blacklist_reason or ""
                )
            else:
                signal = await self._evaluate(trade, trader, now_ms, mids, reentry=True)
            followers = await self._plan_followers(signal, trade, now_ms, mids)
            order = claimed(await self._plan(signal, trade, now_ms, mids), now_ms)
            self._store.resolve_deferred(
                record.id, signal, evaluated_ms=now_ms, order=order, fanout=followers
            )
            self._log_signal(signal, now_ms, deferred_id=record.id)
            if order is not None and order.state is OrderState.SUBMITTED:
                await self._enter(order, now_ms, record.leader_trade_id)
            if followers and self._fanout is not None:
                await self._fanout.execute(followers, now_ms)
            done += 1
        return done

    async def resume_entries(self, orders: list[OrderRecord], now_ms: int) -> None:
        """Startup: send entries that were written but never sent, and are still fresh."""
        for order in orders:
            log.info("entry_resumed", client_order_id=order.client_order_id, coin=order.coin)
            await self._enter(order, now_ms, order.leader_trade_id)

    async def _enter(self, order: OrderRecord, now_ms: int, leader_trade_id: int | None) -> None:
        """Send an entry; a filled entry gets (or moves) its protective stop at the venue."""
        await self._executor.execute(order, now_ms, leader_trade_id=leader_trade_id)
        if order.position_id is None or order.filled_size <= 0:
            return
        position = next(
            (p for p in self._portfolio.open_positions if p.id == order.position_id), None
        )
        if position is not None:
            await self._positions.protect(position, now_ms)

    # ---- helpers --------------------------------------------------------------------------

    async def _evaluate(
        self,
        trade: LeaderTrade,
        trader: Trader,
        now_ms: int,
        mids: Mapping[str, float],
        *,
        reentry: bool,
    ) -> Signal:
        """The nine steps on an entry trade; step 5 judges the §E9 reference price."""
        reference = await self._reference_price(trade, now_ms, mids)
        price = reference.price if isinstance(reference, PriceQuote) else None
        ctx = await self._context(trade, trader, now_ms, mids, reentry=reentry, price=price)
        signal = evaluate_trade(trade, trader, ctx, self._params)
        last = signal.steps[-1] if signal.steps else None
        if (
            isinstance(reference, ReasonCode)
            and last is not None
            and last.reason is ReasonCode.NO_PRICE
        ):
            # step 5 had no price because no source of the chain had one: say which (§E9)
            signal.reason = reference
            signal.steps[-1] = replace(
                last, reason=reference, detail=self._unpriced(trade, now_ms, mids)
            )
        return signal

    async def _context(
        self,
        trade: LeaderTrade,
        trader: Trader,
        now_ms: int,
        mids: Mapping[str, float],
        *,
        reentry: bool,
        price: float | None,
    ) -> PipelineContext:
        state = None if reentry else self._after.get(id(trade))
        if state is None:
            state = self._states.get(trade.leader)
        if state is None:
            state = await self._feed.leader_state(trade.leader)
            if self._kept is not None:
                self._kept.remember(state)
        live = state.position(trade.coin)
        tracked = self._leaders.tracker.get(trade.leader, trade.coin)
        opened_ms = (
            trade.time_ms
            if trade.action is Action.OPEN
            else (tracked.opened_ms if tracked is not None else None)
        )
        consensus = 0
        if self._params.consensus_enabled:
            consensus = await self._consensus(trade)
        return PipelineContext(
            now_ms=now_ms,
            current_price=price,
            leader_account_value=state.account_value,
            leader_position_open_ms=opened_ms,
            leader_position_open=live is not None and live.side is trade.side,
            leader_leverage=get_leverage_from_positions(state.positions, trade.coin),
            portfolio=self._portfolio.view(mids),
            consensus_count=consensus,
            reentry=reentry,
        )

    def _exit_context(self, now_ms: int, mids: Mapping[str, float]) -> PipelineContext:
        return PipelineContext(
            now_ms=now_ms,
            current_price=None,
            leader_account_value=0.0,
            leader_position_open_ms=None,
            leader_position_open=False,
            leader_leverage=1.0,
            portfolio=self._portfolio.view(mids),
        )

    async def _consensus(self, trade: LeaderTrade) -> int:
        """Tracked leaders (primary and secondary) holding the same side of the coin now."""
        count = 0
        for t in self._leaders.primary + self._leaders.secondary:
            state = await self._feed.leader_state(t.address)
            p = state.position(trade.coin)
            if p is not None and p.side is trade.side:
                count += 1
        return count

    async def _plan(
        self, signal: Signal, trade: LeaderTrade, now_ms: int, mids: Mapping[str, float]
    ) -> OrderRecord | None:
        if not signal.accepted:
            return None
        quote = await self._entry_quote(signal, trade, now_ms, mids)
        if isinstance(quote, ReasonCode):  # written as REJECTED with its reason, never sent
            signal.outcome = SignalOutcome.REJECTED
            signal.reason = quote
            signal.steps.append(
                StepDecision(10, "entry_price", False, quote, self._unpriced(trade, now_ms, mids))
            )
            return None
        planned = self._executor.plan_entry(signal, trade, quote, now_ms)
        if isinstance(planned, ReasonCode):
            signal.outcome = SignalOutcome.REJECTED
            signal.reason = planned
            signal.steps.append(
                StepDecision(10, "venue_minimum", False, planned, f"size_usd={signal.size_usd:.2f}")
            )
            return None
        blocked = self._guardrails.check(planned, now_ms, mids)
        if blocked is None:
            blocked = await self._executor.preflight(planned)  # §E8
        if blocked is not None:  # written all the same, as SKIPPED with its reason (§E3)
            planned.state = OrderState.SKIPPED
            planned.reason = blocked.value
        return planned

    # ---- §E9 prices -----------------------------------------------------------------------

    async def _book(self, coin: str) -> OrderBook | None:
        """The coin's book through the quote cache; None when the venue has none for us (the
        chain then falls back: a copy is not lost to one missing source)."""
        try:
            return await self._quotes.order_book(coin)
        except Exception as exc:
            log.warning("book_unavailable", coin=coin, error=f"{type(exc).__name__}: {exc}")
            return None

    def _resolve(
        self,
        trade: LeaderTrade,
        size: float,
        now_ms: int,
        book: OrderBook | None,
        mid: float | None,
    ) -> PriceQuote | ReasonCode:
        """The §E9 chain for `size` coins; MarketData offers no last trade, so none is given."""
        return resolve_price(
            is_buy=trade.side is Side.LONG,
            size=size,
            now_ms=now_ms,
            max_last_trade_age_ms=0,
            max_leader_fill_age_ms=self._max_leader_fill_age_ms,
            book=book,
            mid=mid,
            leader_fill_price=trade.price,
            leader_fill_ms=trade.time_ms,
        )

    async def _reference_price(
        self, trade: LeaderTrade, now_ms: int, mids: Mapping[str, float]
    ) -> PriceQuote | ReasonCode:
        """The price step 5 judges slippage by: the venue mid; without one, what the chain has
        at no size (the book's top-of-book mid, then the leader's fresh fill)."""
        mid = mids.get(trade.coin)
        if mid is not None and math.isfinite(mid) and mid > 0:
            return PriceQuote(mid, PriceSource.MID, "venue mid")
        return self._resolve(trade, 0.0, now_ms, await self._book(trade.coin), mid)

    async def _entry_quote(
        self, signal: Signal, trade: LeaderTrade, now_ms: int, mids: Mapping[str, float]
    ) -> PriceQuote | ReasonCode:
        """The entry's §E9 price: our size estimated at the reference price (the mid first),
        then the book walked to that size, falling back down the chain."""
        mid = mids.get(trade.coin)
        book = await self._book(trade.coin)
        reference = self._resolve(trade, 0.0, now_ms, book, mid)
        if isinstance(reference, ReasonCode):
            return reference
        return self._resolve(trade, signal.size_usd / reference.price, now_ms, book, mid)

    def _unpriced(self, trade: LeaderTrade, now_ms: int, mids: Mapping[str, float]) -> str:
        return (
            f"no usable book or mid ({mids.get(trade.coin)!r}); leader fill {trade.price:g} is "
            f"{now_ms - trade.time_ms} ms old, max {self._max_leader_fill_age_ms}"
        )

    async def _plan_followers(
        self, signal: Signal, trade: LeaderTrade, now_ms: int, mids: Mapping[str, float]
    ) -> list[OrderRecord]:
        """The followers' intents for an accepted trade — judged before the house's own plan,
        whose refusals (its venue minimum, its guardrails) are the house's alone."""
        if self._fanout is None or not signal.accepted:
            return []
        orders = self._fanout.plan(
            trade, signal, now_ms, mids, market_seen_ms=self._guardrails.market_seen_ms
        )
        await self._fanout.preflight(orders)
        return orders

    def _mirror_targets(self, trade: LeaderTrade) -> list[PositionRecord]:
        """Our open positions that copy the leader's position this exit trade is on."""
        return [
            p
            for p in self._portfolio.open_positions
            if p.leader == trade.leader and p.coin == trade.coin and p.side is trade.side
        ]

    async def _mirror_exit(
        self, trade: LeaderTrade, now_ms: int, mids: Mapping[str, float]
    ) -> None:
        """Leader exit (§C5): mirror a Close (default on) or a Reduce (default off)."""
        mirror = self._mirror_close if trade.action is Action.CLOSE else self._mirror_reduce
        if not mirror:
            return
        if self._fanout is not None:
            await self._fanout.mirror_exit(trade, now_ms, mids)
        for position in self._mirror_targets(trade):
            mark = mids.get(position.coin)
            if mark is None:
                log.warning("exit_without_price", coin=position.coin, position=position.id)
                continue
            if trade.action is Action.CLOSE:
                size, reason = position.size, ReasonCode.LEADER_CLOSED
            else:
                fraction = trade.size / abs(trade.start_position) if trade.start_position else 0
                size, reason = position.size * min(fraction, 1.0), ReasonCode.LEADER_REDUCED
            await self._positions.close_position(
                position, reason.value, now_ms, size=size, mark=mark
            )

    def _log_signal(self, signal: Signal, now_ms: int, **extra: object) -> None:
        t = signal.trade
        log.info(
            "signal",
            leader=t.leader,
            coin=t.coin,
            action=t.action.value,
            side=t.side.value,
            trade=t.key,
            value_usd=round(t.value_usd, 2),
            outcome=signal.outcome.value,
            reason=signal.reason.value,
            size_usd=round(signal.size_usd, 2),
            order_type=signal.order_type.value if signal.order_type else None,
            steps=[(s.step, s.reason.value, s.detail) for s in signal.steps],
            now_ms=now_ms,
            **extra,
        )


def _unknown(address: str) -> Trader:
    return Trader(address=address)
