"""The runner (SPEC §C6): the engine's loops in one asyncio task group over a clock.

`Engine` is the composition root: everything is built here from settings and the venue's
protocol objects — nothing global, nothing at import time. Loops: leader refresh (daily),
ingestion (every POLL_INTERVAL; plus, when the venue pushes leaders' fills, the stream — see
`engine/streaming.py`), deferred signals, monitor (marks and equity). SIGINT/SIGTERM
stop the clock: each loop finishes the step it is in, checkpoints are flushed, the store closes.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

from tailgate.config import Settings
from tailgate.domain.followers import Follower
from tailgate.domain.models import Market
from tailgate.engine.clock import Clock
from tailgate.engine.copier import Copier
from tailgate.engine.desk import Desk, open_desk
from tailgate.engine.execution import OrderExecutor
from tailgate.engine.fanout import Fanout
from tailgate.engine.guardrails import KILL_SWITCH_KEY, Guardrails, halted_key
from tailgate.engine.ingestion import LeaderTradeIngestor
from tailgate.engine.leader_states import LeaderStates
from tailgate.engine.leaders import LeaderBook
from tailgate.engine.locks import NonceSource, ScopedLocks
from tailgate.engine.obligations import ObligationKeeper
from tailgate.engine.portfolio import Portfolio
from tailgate.engine.positions import PositionManager
from tailgate.engine.quotes import QuoteCache
from tailgate.engine.reconcile import Reconciler, ReconcileReport
from tailgate.engine.streaming import StreamIngestion
from tailgate.logs import get_logger
from tailgate.store import Store
from tailgate.transport import RetryableError
from tailgate.venues.protocols import (
    AccountState,
    LeaderFeed,
    LeaderFillStream,
    MarketData,
    MarketDataStream,
    OrderGateway,
)

__all__ = ["Engine", "EngineStats", "checkpointed_nonces"]

log = get_logger("tailgate.runner")

Observer = tuple[int, Callable[[int], None]]
Loop = tuple[str, int, Callable[[int], Awaitable[None]], int]  # name, interval, step, first ms
FollowerVenue = Callable[[Follower], tuple[OrderGateway, AccountState | None]]
"""A follower's own order gateway and account at the venue (its signer's)."""
EQUITY_SNAPSHOT_INTERVAL_MS = 3_600_000
NONCES_KEY = "nonces"  # checkpoint: the last nonce of each signer


def checkpointed_nonces(store: Store, clock: Clock) -> NonceSource:
    """Nonces per signer continuing above the last checkpoint (a restart never reuses one)."""
    return NonceSource(clock.now_ms, store.get_state(NONCES_KEY) or {})


MAX_CONSECUTIVE_FAILURES = 5  # a loop failing this often in a row stops the engine (fail closed)
RETRY_FAILED_MS = 300_000  # a failed loop step is tried again after at most this long


@dataclass(slots=True)
class EngineStats:
    ingestion_cycles: int = 0
    trades_seen: int = 0
    fills_rejected: int = 0
    deferred_resolved: int = 0
    refreshes: int = 0
    loop_errors: int = 0
    orders_settled_on_start: int = 0
    entries_resumed: int = 0
    stale_expired: int = 0
    drifts: int = 0
    venue_unavailable: int = 0  # loop steps the venue could not answer (outage, breaker open)
    polls_skipped: int = 0  # polls a covering leader stream made unnecessary


class Engine:
    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        *,
        feed: LeaderFeed,
        market: MarketData,
        gateway: OrderGateway,
        store: Store,
        account: AccountState | None = None,
        live_armed: bool = False,
        follower_venue: FollowerVenue | None = None,
        stream: LeaderFillStream | None = None,
        market_stream: MarketDataStream | None = None,
        nonces: NonceSource | None = None,
    ) -> None:
        """`nonces`: the source a gateway also signs from (its own actions: cancels, leverage
        updates), so one checkpoint covers every nonce of a key; None: the engine's own."""
        self.settings = settings
        self.live_armed = live_armed
        self.clock = clock
        self.store = store
        self.params = settings.copy_params()
        self._feed = feed
        self._market = market
        self._gateway = gateway
        # our account at the venue, for reconciliation: the gateway's, unless given
        self._account = account or (gateway if isinstance(gateway, AccountState) else None)
        # followers' own gateways and accounts at the venue (§E10); None: no followers traded
        self._follower_venue = follower_venue
        # leaders' fills pushed as they happen; polling stays underneath as the safety net
        self._stream = stream
        self.streaming: StreamIngestion | None = None
        # books and mids pushed into the quote cache; with the leader stream, leaders' states
        # kept in memory: a pushed trade is then copied without a read (SPEC §N)
        self._market_stream = market_stream
        self.leader_states: LeaderStates | None = (
            LeaderStates(feed, clock.now_ms, int(settings.leader_state_max_age_sec * 1000))
            if stream is not None
            else None
        )
        self._polled_ms = 0  # the last poll of the leaders (sim or wall time)
        self.stats = EngineStats()
        # §E6: one lock per signer across every desk; nonces per signer, continued from the
        # last checkpoint so a restart never reuses one
        self.locks = ScopedLocks()
        self.nonces = nonces or checkpointed_nonces(store, clock)
        self._last_equity_ms: int | None = None
        self._marks: dict[str, float] = {}
        # built in start(): they need the venue's markets
        self.leaders: LeaderBook
        self.copier: Copier
        self.house: Desk
        self.followers: list[Desk] = []
        self.fanout: Fanout

    async def start(self) -> None:
        """Settle what a previous run left unfinished before any new order, desk by desk (the
        house, then each follower): non-final intents (by asking the venue), then open
        obligations (stops owed, closes owed), then reconciliation; then send the entries
        that were written but never sent while they are fresh."""
        now = self.clock.now_ms()
        s = self.settings
        markets = await self.open_desks(now)
        house = self.house
        self.quotes = QuoteCache(self._market, self.clock.now_ms, int(s.quote_ttl_sec * 1000))
        if self._market_stream is not None:
            self._market_stream.deliver_to(self.quotes.push_book, self.quotes.push_mids)
        self.fanout = Fanout(self.store, self.followers, self.store.load_subscriptions(), markets)
        ingestor = LeaderTradeIngestor(self._feed, self.store, markets)
        self.copier = Copier(
            store=self.store,
            feed=self._feed,
            market=self._market,
            ingestor=ingestor,
            leaders=self.leaders,
            executor=self.executor,
            positions=self.positions,
            portfolio=self.portfolio,
            params=self.params,
            guardrails=self.guardrails,
            mirror_leader_close=s.mirror_leader_close,
            mirror_leader_reduce=s.mirror_leader_reduce,
            fanout=self.fanout if self.followers else None,
            quotes=self.quotes,
            max_leader_fill_age_ms=int(s.max_leader_fill_price_age_sec * 1000),
            leader_states=self.leader_states,
        )
        self._ingestor = ingestor
        # the house fails closed: a ReconciliationError stops the start, nothing is traded
        open_obligations, _ = await self.settle(house, now)
        if house.reconciler is None and s.reconciliation_enabled:
            log.warning("reconciliation_unavailable", reason="the venue gives no account state")
        for desk in self.followers:
            await self._start_follower(desk, now)
        self.stats.orders_settled_on_start = house.orders_settled_on_start
        self.stats.entries_resumed = len(house.fresh_entries)
        if house.fresh_entries or any(d.fresh_entries for d in self.followers):
            self.guardrails.market_seen(now)
        if house.fresh_entries:
            await self.copier.resume_entries(house.fresh_entries, now)
        for desk in self.followers:
            if desk.fresh_entries and not self._halted(desk):
                desk.guardrails.market_seen(now)
                await self.fanout.execute(desk.fresh_entries, now)
        log.info(
            "engine_started",
            mode=s.mode.value,
            venue=s.venue,
            now_ms=now,
            cash=self.portfolio.cash,
            open_positions=len(self.portfolio.open_positions),
            pending_deferred=self.copier.pending_deferred,
            orders_settled=house.orders_settled_on_start,
            entries_resumed=len(house.fresh_entries),
            open_obligations=open_obligations,
            followers=len(self.followers),
        )

    async def open_desks(self, now: int) -> dict[str, Market]:
        """The house's desk and every follower's, each with its non-final intents settled by
        the venue (nothing new is sent) → the venue's markets. `start` goes on to trade;
        `tailgate reconcile` stops here and reconciles."""
        s = self.settings
        markets = {m.coin: m for m in await self._market.markets()}
        self.leaders = LeaderBook(self._feed, self.store, self.params, markets)
        house = await self._open_desk(
            s.paper_account,
            s.paper_account,
            s.paper_starting_balance_usd,
            self._gateway,
            self._account,
            markets,
            now,
        )
        self.house = house
        self.followers = await self._open_follower_desks(markets, now)
        return markets

    async def _open_desk(
        self,
        account: str,
        signer: str,
        cash: float,
        gateway: OrderGateway,
        venue_account: AccountState | None,
        markets: Mapping[str, Market],
        now: int,
        follower: Follower | None = None,
    ) -> Desk:
        return await open_desk(
            self.settings,
            self.store,
            account=account,
            signer=signer,
            starting_cash=cash,
            gateway=gateway,
            venue_account=venue_account,
            feed=self._feed,
            market=self._market,
            markets=markets,
            leaders=self.leaders,
            params=self.params,
            now_ms=now,
            clock_ms=self.clock.now_ms,
            live_armed=self.live_armed,
            follower=follower,
            locks=self.locks,
            nonces=self.nonces,
        )

    async def _open_follower_desks(self, markets: Mapping[str, Market], now: int) -> list[Desk]:
        """A desk per enabled follower; one whose venue cannot be opened is left out (logged),
        never the engine."""
        followers = [f for f in self.store.load_followers() if f.enabled]
        if any(f.account == self.settings.paper_account for f in followers):
            log.error("follower_is_the_house_account", account=self.settings.paper_account)
            followers = [f for f in followers if f.account != self.settings.paper_account]
        if followers and self._follower_venue is None:
            log.warning("followers_without_venue", followers=len(followers))
            return []
        assert self._follower_venue is not None or not followers
        desks: list[Desk] = []
        for follower in followers:
            try:
                gateway, venue_account = self._follower_venue(follower)  # type: ignore[misc]
                desks.append(
                    await self._open_desk(
                        follower.account,
                        follower.signer,
                        follower.capital_usd,
                        gateway,
                        venue_account,
                        markets,
                        now,
                        follower,
                    )
                )
            except Exception as exc:
                log.error(
                    "follower_not_started",
                    account=follower.account,
                    error=f"{type(exc).__name__}: {exc}",
                )
        return desks

    @staticmethod
    async def settle(desk: Desk, now: int) -> tuple[int, ReconcileReport | None]:
        """A desk's startup work with the venue: its due obligations and the stops left resting
        for positions already closed, then reconciliation, then the obligations a repair
        created → (obligations still open, the report)."""
        still_open = await desk.obligations.run_due(now)
        await desk.positions.cancel_stray_stops(now)
        if desk.reconciler is None:
            return still_open, None
        report = await desk.reconciler.run(now)
        return await desk.obligations.run_due(now), report

    async def _start_follower(self, desk: Desk, now: int) -> None:
        """`settle` for a follower; if it cannot reconcile it is halted (its entries are
        refused) — the others, and the house, go on."""
        try:
            await self.settle(desk, now)
        except Exception as exc:
            self.store.set_state(
                halted_key(desk.account), {"reason": f"startup: {exc}", "at_ms": now}, now
            )
            log.error("follower_halted_on_start", account=desk.account, error=str(exc))

    def _halted(self, desk: Desk) -> bool:
        return bool(self.store.get_state(halted_key(desk.account)))

    @property
    def desks(self) -> list[Desk]:
        return [self.house, *self.followers]

    # the house desk's parts, by name (the engine's own account)
    @property
    def portfolio(self) -> Portfolio:
        return self.house.portfolio

    @property
    def executor(self) -> OrderExecutor:
        return self.house.executor

    @property
    def positions(self) -> PositionManager:
        return self.house.positions

    @property
    def guardrails(self) -> Guardrails:
        return self.house.guardrails

    @property
    def obligations(self) -> ObligationKeeper:
        return self.house.obligations

    @property
    def reconciler(self) -> Reconciler | None:
        return self.house.reconciler

    def loops(self, observers: Sequence[Observer] = ()) -> list[Loop]:
        """The loops `run` starts: (name, interval ms, step, first wake-up ms)."""
        s = self.settings
        refresh_ms = int(s.leader_refresh_interval_hours * 3_600_000)
        loops: list[Loop] = []
        now = self.clock.now_ms()
        last = self.leaders.last_refresh_ms
        first_refresh = now if last is None or now - last >= refresh_ms else last + refresh_ms
        loops.append(("leader_refresh", refresh_ms, self._refresh, first_refresh))
        loops.append(("ingestion", int(s.poll_interval_trades_sec * 1000), self._ingest, now))
        loops.append(("deferred", int(s.deferred_check_interval_sec * 1000), self._deferred, now))
        loops.append(("monitor", int(s.monitor_interval_sec * 1000), self._monitor, now))
        if self.leader_states is not None:
            state_ms = int(s.leader_state_refresh_sec * 1000)
            loops.append(("leader_states", state_ms, self._refresh_states, now))
            switch_ms = self.guardrails.switch_cache_ms // 2
            if switch_ms > 0 and self.clock.realtime:  # the kill switch and halts read ahead:
                # an entry then never waits for them (a simulated clock stands still anyway)
                loops.append(("switches", switch_ms, self._read_switches, now))
        if any(d.reconciler is not None for d in self.desks):
            rec_ms = int(s.reconciliation_interval_seconds * 1000)
            loops.append(("reconcile", rec_ms, self._reconcile, now + rec_ms))
        sweep_ms = int(s.stale_sweep_interval_sec * 1000)
        loops.append(("stale_sweep", sweep_ms, self._sweep, now + sweep_ms))
        checkpoint_ms = int(s.checkpoint_interval_sec * 1000)
        loops.append(("checkpoint", checkpoint_ms, self._checkpoint, now + checkpoint_ms))
        for i, (interval_ms, callback) in enumerate(observers):

            async def observe(t: int, callback: Callable[[int], None] = callback) -> None:
                callback(t)

            loops.append((f"observer{i}", interval_ms, observe, now))
        return loops

    async def run(self, observers: Sequence[Observer] = ()) -> None:
        """Run every loop until the clock stops (end of a simulation, or a signal).

        `observers` are (interval_ms, callback(now_ms)) pairs run on the same clock — e.g. a
        progress bar; they watch, they do not trade."""
        self._install_signal_handlers()
        loops = self.loops(observers)
        if self.leader_states is not None and self.executor.balances is not None:
            # the preflight's balance read ahead, so a pushed copy never waits for it
            self.executor.balances.read_ahead = True
        try:
            if self._stream is not None:
                self.streaming = StreamIngestion(self._stream, self.copier, self.clock)
                await self.streaming.start()
            async with asyncio.TaskGroup() as group:
                for name, interval, step, first in loops:
                    self.clock.join()
                    group.create_task(self._every(name, interval, step, first), name=name)
                group.create_task(self.clock.drive(), name="clock")
        finally:
            await self.close()

    def stop(self) -> None:
        self.clock.stop()

    async def close(self) -> None:
        """Flush checkpoints and value the book one last time; safe to call twice."""
        if self.streaming is not None:
            await self.streaming.close()
        if self._market_stream is not None:
            await self._market_stream.close()
        now = self.clock.now_ms()
        try:
            self._marks = await self._market.mids()
        except Exception:
            log.warning("final_marks_unavailable")
        try:
            await self._checkpoint(now)
            for desk in self.desks:
                self._snapshot_equity(desk, now)
        except Exception:
            log.exception("checkpoint_failed")
        log.info("engine_stopped", now_ms=now, **self._stats_dict())

    # ---- loop steps -----------------------------------------------------------------------

    async def _refresh(self, now: int) -> None:
        await self.leaders.refresh(now)
        self.stats.refreshes += 1
        if self.streaming is not None:
            await self.streaming.follow()
        if self._market_stream is not None:
            await self._market_stream.watch(self.leaders.coins_traded())

    async def _refresh_states(self, now: int) -> None:
        """Followed leaders' states, read ahead of their trades (see `leader_states.py`)."""
        assert self.leader_states is not None
        await self.leader_states.refresh(self.copier.leaders_to_poll())

    async def _read_switches(self, now: int) -> None:
        """Every desk's switches from two reads, however many followers there are."""
        values = self.store.get_states(KILL_SWITCH_KEY)
        values.update(self.store.states_with_prefix(halted_key("")))
        for desk in self.desks:
            desk.guardrails.read_switches(now, values)

    async def _ingest(self, now: int) -> None:
        streaming = self.streaming
        if (
            streaming is not None
            and streaming.covering
            and now - self._polled_ms < self.settings.stream_safety_poll_minutes * 60_000
        ):
            self.stats.polls_skipped += 1  # the stream sees every fill as it happens
            return
        result = await self.copier.ingest(now)
        self._polled_ms = now
        if streaming is not None and result.complete:
            streaming.covered()
        self.stats.ingestion_cycles += 1
        self.stats.trades_seen += len(result.trades)
        self.stats.fills_rejected += result.rejected

    async def _deferred(self, now: int) -> None:
        self.stats.deferred_resolved += await self.copier.process_deferred(now)

    async def _reconcile(self, now: int) -> None:
        for desk in self.desks:
            if desk.reconciler is None:
                continue
            try:
                report = await desk.reconciler.run(now)
            except Exception:
                if not desk.is_follower:
                    raise
                log.exception("follower_reconciliation_failed", account=desk.account)
                continue
            self.stats.drifts += len(report.drifts)

    async def _checkpoint(self, now: int) -> None:
        """§R5: the in-memory state a restart needs — ingestion cursors, moved trailing stops,
        the clock — to the store; periodically, and on every stop (SIGTERM included)."""
        for desk in self.desks:
            desk.positions.flush(now)
        values = self._ingestor.checkpoint_values(now)
        values[NONCES_KEY] = self.nonces.snapshot()
        values["clock_ms"] = now
        self.store.set_states(values, now)  # one transaction

    async def _sweep(self, now: int) -> None:
        ttl_ms = int(self.settings.pending_ttl_sec * 1000)
        for desk in self.desks:
            self.stats.stale_expired += desk.executor.sweep_stale(now, ttl_ms)

    async def _monitor(self, now: int) -> None:
        """Every desk: obligations due, then its positions (stops, trails, time stops, the
        leader's state); hourly, the equity. A follower's failure is logged, not spread."""
        for desk in self.desks:
            try:
                await desk.obligations.run_due(now)
                await desk.positions.monitor(now)
            except Exception:
                if not desk.is_follower:
                    raise
                log.exception("follower_monitor_failed", account=desk.account)
        if (
            self._last_equity_ms is None
            or now - self._last_equity_ms >= EQUITY_SNAPSHOT_INTERVAL_MS
        ):
            self._marks = await self._market.mids()
            for desk in self.desks:
                self._snapshot_equity(desk, now)
            self._last_equity_ms = now

    # ---- plumbing -------------------------------------------------------------------------

    async def _every(
        self, name: str, interval_ms: int, step: Callable[[int], Awaitable[None]], first_ms: int
    ) -> None:
        failures = 0
        try:
            if not await self.clock.sleep_until(first_ms):
                return
            next_ms = first_ms
            while not self.clock.stopping:
                now = self.clock.now_ms()
                ok = False
                try:
                    await step(now)
                    failures, ok = 0, True
                except RetryableError as exc:
                    # the venue is unreachable for now (its breaker open, an outage): not a
                    # fault of ours, and stopping would leave nobody watching. Entries stay
                    # blocked meanwhile by the stale-market-data guardrail (§E4).
                    self.stats.venue_unavailable += 1
                    log.warning(
                        "loop_step_venue_unavailable",
                        loop=name,
                        error=f"{type(exc).__name__}: {exc}",
                    )
                except Exception:
                    failures += 1
                    self.stats.loop_errors += 1
                    log.exception("loop_step_failed", loop=name, consecutive=failures)
                    if failures >= MAX_CONSECUTIVE_FAILURES:
                        log.error("loop_failing_stopping_engine", loop=name)
                        self.clock.stop()
                        return
                # a failed step is tried again soon, not a whole interval later (a leader
                # refresh that failed at start must not leave the engine without leaders a day)
                next_ms = next_ms + interval_ms if ok else now + min(interval_ms, RETRY_FAILED_MS)
                if not await self.clock.sleep_until(next_ms):
                    return
        finally:
            self.clock.leave()

    def _snapshot_equity(self, desk: Desk, now: int) -> None:
        equity = desk.portfolio.equity(self._marks)
        desk.guardrails.observe_equity(now, equity)
        self.store.record_equity(desk.account, now, equity, desk.portfolio.cash)

    def _install_signal_handlers(self) -> None:
        try:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, self.stop)
        except (NotImplementedError, RuntimeError):  # not the main thread, or Windows
            pass

    def _stats_dict(self) -> dict[str, int]:
        return {
            "ingestion_cycles": self.stats.ingestion_cycles,
            "trades_seen": self.stats.trades_seen,
            "fills_rejected": self.stats.fills_rejected,
            "deferred_resolved": self.stats.deferred_resolved,
            "refreshes": self.stats.refreshes,
            "loop_errors": self.stats.loop_errors,
            "stale_expired": self.stats.stale_expired,
            "drifts": self.stats.drifts,
            "venue_unavailable": self.stats.venue_unavailable,
            "polls_skipped": self.stats.polls_skipped,
            "quote_hits": self.quotes.hits,  # §E7
            "quote_misses": self.quotes.misses,
            "quote_shared": self.quotes.shared,
        }
