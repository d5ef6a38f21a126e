"""The runner (SPEC §C6): the engine's loops in one asyncio task group over a clock.

`Engine` is the composition root: everything is built here from settings and the venue's
protocol objects — nothing global, nothing at import time. Loops: leader refresh (daily),
ingestion (every POLL_INTERVAL), deferred signals, monitor (marks and equity). SIGINT/SIGTERM
stop the clock: each loop finishes the step it is in, checkpoints are flushed, the store closes.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from tailgate.config import Mode, Settings
from tailgate.domain.guardrails import GuardrailLimits
from tailgate.engine.clock import Clock
from tailgate.engine.copier import Copier
from tailgate.engine.execution import OrderExecutor
from tailgate.engine.guardrails import Guardrails
from tailgate.engine.ingestion import LeaderTradeIngestor
from tailgate.engine.leaders import LeaderBook
from tailgate.engine.obligations import ObligationKeeper, RetryPolicy
from tailgate.engine.portfolio import Portfolio
from tailgate.engine.positions import PositionManager
from tailgate.engine.reconcile import Reconciler
from tailgate.logs import get_logger
from tailgate.store import Store
from tailgate.store.records import OrderState, PositionStatus
from tailgate.venues.protocols import AccountState, LeaderFeed, MarketData, OrderGateway

__all__ = ["Engine", "EngineStats"]

log = get_logger("tailgate.runner")

Observer = tuple[int, Callable[[int], None]]
EQUITY_SNAPSHOT_INTERVAL_MS = 3_600_000
MAX_CONSECUTIVE_FAILURES = 5  # a loop failing this often in a row stops the engine (fail closed)


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
    ) -> None:
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
        self.stats = EngineStats()
        self._last_equity_ms: int | None = None
        self._marks: dict[str, float] = {}
        # built in start(): they need the venue's markets
        self.portfolio: Portfolio
        self.leaders: LeaderBook
        self.copier: Copier
        self.executor: OrderExecutor
        self.positions: PositionManager
        self.guardrails: Guardrails
        self.obligations: ObligationKeeper
        self.reconciler: Reconciler | None = None

    async def start(self) -> None:
        """Settle what a previous run left unfinished before any new order: non-final intents
        (by asking the venue), then open obligations (stops owed, closes owed); then send the
        entries that were written but never sent while they are fresh."""
        now = self.clock.now_ms()
        markets = {m.coin: m for m in await self._market.markets()}
        account = self.settings.paper_account
        cash = self.store.ensure_account(account, self.settings.paper_starting_balance_usd, now)
        self.portfolio = Portfolio(
            account,
            cash,
            self.store.load_positions(status=PositionStatus.OPEN, account=account),
        )
        self.executor = OrderExecutor(
            self._gateway, self.store, markets, self.portfolio, self.params
        )

        pending_ttl_ms = int(self.settings.pending_ttl_sec * 1000)
        unfinished = len(self.store.load_orders([OrderState.SUBMITTED, OrderState.UNKNOWN]))
        fresh_entries = await self.executor.resolve_open_orders(now, pending_ttl_ms)
        self.stats.orders_settled_on_start = unfinished
        self.leaders = LeaderBook(self._feed, self.store, self.params, markets)
        self.positions = PositionManager(
            store=self.store,
            feed=self._feed,
            market=self._market,
            executor=self.executor,
            portfolio=self.portfolio,
            leaders=self.leaders,
            params=self.params,
            markets=markets,
        )
        s = self.settings
        self.guardrails = Guardrails(
            self.store,
            self.portfolio,
            GuardrailLimits(
                max_order_usd=s.max_order_usd,
                max_market_data_age_ms=int(s.max_market_data_age_sec * 1000),
                daily_loss_cap_usd=s.daily_loss_cap_usd,
                daily_volume_cap_usd=s.daily_volume_cap_usd,
                live=s.mode is Mode.LIVE,
                live_armed=self.live_armed,
            ),
            kill_switch=s.kill_switch,
        )
        self.obligations = ObligationKeeper(
            self.store,
            self.positions,
            self.portfolio,
            RetryPolicy(
                base_ms=int(s.obligation_retry_base_sec * 1000),
                max_ms=int(s.obligation_retry_max_sec * 1000),
            ),
        )
        self.executor.on_obligation = self.obligations.wake
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
            mirror_leader_close=self.settings.mirror_leader_close,
            mirror_leader_reduce=self.settings.mirror_leader_reduce,
        )
        self._ingestor = ingestor
        open_obligations = await self.obligations.run_due(now)
        if s.reconciliation_enabled and self._account is not None:
            self.reconciler = Reconciler(
                store=self.store,
                account=self._account,
                market=self._market,
                portfolio=self.portfolio,
                positions=self.positions,
                executor=self.executor,
                params=self.params,
                markets=markets,
                threshold_usd=s.reconciliation_threshold_usd,
                retries=s.reconciliation_retry_count,
                on_drift=s.reconciliation_on_drift,
            )
            await self.reconciler.run(now)  # ReconciliationError: fail closed, trade nothing
            open_obligations = await self.obligations.run_due(now)
        elif s.reconciliation_enabled:
            log.warning("reconciliation_unavailable", reason="the venue gives no account state")
        self.stats.entries_resumed = len(fresh_entries)
        if fresh_entries:
            self.guardrails.market_seen(now)
            await self.copier.resume_entries(fresh_entries, now)
        log.info(
            "engine_started",
            mode=self.settings.mode.value,
            venue=self.settings.venue,
            now_ms=now,
            cash=cash,
            open_positions=len(self.portfolio.open_positions),
            pending_deferred=self.copier.pending_deferred,
            orders_settled=unfinished,
            entries_resumed=len(fresh_entries),
            open_obligations=open_obligations,
        )

    async def run(self, observers: Sequence[Observer] = ()) -> None:
        """Run every loop until the clock stops (end of a simulation, or a signal).

        `observers` are (interval_ms, callback(now_ms)) pairs run on the same clock — e.g. a
        progress bar; they watch, they do not trade."""
        self._install_signal_handlers()
        s = self.settings
        refresh_ms = int(s.leader_refresh_interval_hours * 3_600_000)
        loops: list[tuple[str, int, Callable[[int], Awaitable[None]], int]] = []
        now = self.clock.now_ms()
        last = self.leaders.last_refresh_ms
        first_refresh = now if last is None or now - last >= refresh_ms else last + refresh_ms
        loops.append(("leader_refresh", refresh_ms, self._refresh, first_refresh))
        loops.append(("ingestion", int(s.poll_interval_trades_sec * 1000), self._ingest, now))
        loops.append(("deferred", int(s.deferred_check_interval_sec * 1000), self._deferred, now))
        loops.append(("monitor", int(s.monitor_interval_sec * 1000), self._monitor, now))
        if self.reconciler is not None:
            rec_ms = int(s.reconciliation_interval_seconds * 1000)
            loops.append(("reconcile", rec_ms, self._reconcile, now + rec_ms))
        sweep_ms = int(s.stale_sweep_interval_sec * 1000)
        loops.append(("stale_sweep", sweep_ms, self._sweep, now + sweep_ms))
        for i, (interval_ms, callback) in enumerate(observers):

            async def observe(t: int, callback: Callable[[int], None] = callback) -> None:
                callback(t)

            loops.append((f"observer{i}", interval_ms, observe, now))
        try:
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
        now = self.clock.now_ms()
        try:
            self._marks = await self._market.mids()
        except Exception:
            log.warning("final_marks_unavailable")
        try:
            self._ingestor.checkpoint(now)
            self.positions.flush(now)
            self.store.set_state("clock_ms", now, now)
            self._snapshot_equity(now)
        except Exception:
            log.exception("checkpoint_failed")
        log.info("engine_stopped", now_ms=now, **self._stats_dict())

    # ---- loop steps -----------------------------------------------------------------------

    async def _refresh(self, now: int) -> None:
        await self.leaders.refresh(now)
        self.stats.refreshes += 1

    async def _ingest(self, now: int) -> None:
        result = await self.copier.ingest(now)
        self.stats.ingestion_cycles += 1
        self.stats.trades_seen += len(result.trades)
        self.stats.fills_rejected += result.rejected

    async def _deferred(self, now: int) -> None:
        self.stats.deferred_resolved += await self.copier.process_deferred(now)

    async def _reconcile(self, now: int) -> None:
        assert self.reconciler is not None
        report = await self.reconciler.run(now)
        self.stats.drifts += len(report.drifts)

    async def _sweep(self, now: int) -> None:
        self.stats.stale_expired += self.executor.sweep_stale(
            now, int(self.settings.pending_ttl_sec * 1000)
        )

    async def _monitor(self, now: int) -> None:
        await self.obligations.run_due(now)
        await self.positions.monitor(now)
        # Position management (stops, trails, time stops) will run here every interval; for
        # now the monitor values the book, hourly.
        if (
            self._last_equity_ms is None
            or now - self._last_equity_ms >= EQUITY_SNAPSHOT_INTERVAL_MS
        ):
            self._marks = await self._market.mids()
            self._snapshot_equity(now)

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
                try:
                    await step(self.clock.now_ms())
                    failures = 0
                except Exception:
                    failures += 1
                    self.stats.loop_errors += 1
                    log.exception("loop_step_failed", loop=name, consecutive=failures)
                    if failures >= MAX_CONSECUTIVE_FAILURES:
                        log.error("loop_failing_stopping_engine", loop=name)
                        self.clock.stop()
                        return
                next_ms += interval_ms
                if not await self.clock.sleep_until(next_ms):
                    return
        finally:
            self.clock.leave()

    def _snapshot_equity(self, now: int) -> None:
        equity = self.portfolio.equity(self._marks)
        self.guardrails.observe_equity(now, equity)
        self.store.record_equity(self.portfolio.account, now, equity, self.portfolio.cash)
        self._last_equity_ms = now

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
        }
