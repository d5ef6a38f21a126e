"""Portfolio reconciliation (SPEC §R1): make our books and the venue's agree, or stop trading.

On startup and every RECONCILIATION_INTERVAL_SECONDS: settle our stops the venue no longer
lists (they fired, or were cancelled), then compare positions, resting orders and account
value (`tailgate.domain.reconciliation` holds the table of cases). A difference must persist
over RECONCILIATION_RETRY_COUNT re-reads to count (an order settling between two reads is not
drift). Every difference is written to the audit table with what was done about it: repaired
(the venue's truth adopted, missing stops owed) or, when configured, the account halted —
the guardrails then refuse its entries until `tailgate reconcile --resume`. When the venue
cannot be read at all, `ReconciliationError` is raised: the engine fails closed at startup.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field

from tailgate.domain.models import Market, Side
from tailgate.domain.orders import advance
from tailgate.domain.params import CopyParams
from tailgate.domain.positions import pnl
from tailgate.domain.reasons import ReasonCode
from tailgate.domain.reconciliation import (
    Drift,
    DriftKind,
    LocalPosition,
    LocalStop,
    VenueHolding,
    VenueOrder,
    compare,
)
from tailgate.domain.stops import compute_stop_price, compute_trailing_stop_initial
from tailgate.engine.execution import OrderExecutor
from tailgate.engine.guardrails import halted_key
from tailgate.engine.portfolio import Portfolio
from tailgate.engine.positions import PositionManager
from tailgate.logs import get_logger
from tailgate.store import Store
from tailgate.store.records import (
    DiscrepancyRecord,
    ObligationKind,
    ObligationRecord,
    OrderRecord,
    OrderState,
    PositionRecord,
    PositionStatus,
)
from tailgate.venues.protocols import AccountState, MarketData, OpenOrder

__all__ = ["ReconcileReport", "Reconciler", "ReconciliationError", "last_run_key"]

log = get_logger("tailgate.reconcile")

REPAIR, HALT = "repair", "halt"
RECORD_ONLY = frozenset({DriftKind.ORDER_UNKNOWN, DriftKind.ACCOUNT_VALUE})


class ReconciliationError(RuntimeError):
    """The venue could not be read: reconciliation did not complete."""


def last_run_key(account: str) -> str:
    return f"reconciliation:{account}"


@dataclass(slots=True)
class ReconcileReport:
    run_ms: int
    attempts: int
    drifts: list[Drift] = field(default_factory=list)
    repaired: int = 0
    halted: bool = False

    @property
    def clean(self) -> bool:
        return not self.drifts


class Reconciler:
    def __init__(
        self,
        *,
        store: Store,
        account: AccountState,
        market: MarketData,
        portfolio: Portfolio,
        positions: PositionManager,
        executor: OrderExecutor,
        params: CopyParams,
        markets: Mapping[str, Market],
        threshold_usd: float = 10.0,
        retries: int = 3,
        on_drift: str = REPAIR,
        retry_delay_s: float = 0.0,
    ) -> None:
        if on_drift not in (REPAIR, HALT):
            raise ValueError(f"on_drift must be {REPAIR!r} or {HALT!r}, not {on_drift!r}")
        self._store = store
        self._account = account
        self._market = market
        self._portfolio = portfolio
        self._positions = positions
        self._executor = executor
        self._params = params
        self._markets = markets
        self._threshold = threshold_usd
        self._retries = retries
        self._on_drift = on_drift
        self._retry_delay_s = retry_delay_s
        self.runs = 0
        self._last_run_had_drift: bool | None = None  # None: no run yet

    async def run(self, now_ms: int) -> ReconcileReport:
        """Reconcile once; raises ReconciliationError when the venue cannot be read."""
        drifts: list[Drift] | None = None
        attempts, error = 0, ""
        for attempt in range(self._retries + 1):
            if attempt and self._retry_delay_s > 0:
                await asyncio.sleep(self._retry_delay_s)
            attempts += 1
            try:
                drifts = await self._compare(now_ms)
            except Exception as exc:  # a venue that cannot be read: try again
                error = f"{type(exc).__name__}: {exc}"
                log.warning("reconciliation_read_failed", attempt=attempts, error=error)
                continue
            if not drifts:
                break
        if drifts is None:
            raise ReconciliationError(f"venue unreadable after {attempts} attempts: {error}")
        report = ReconcileReport(now_ms, attempts, drifts)
        if drifts:
            await self._resolve(report, now_ms)
        self.runs += 1
        if drifts or self._last_run_had_drift is not False:  # a clean run after a clean
            self._remember(report, now_ms)  # one changes nothing worth a write
        self._last_run_had_drift = bool(drifts)
        log.info(
            "reconciled",
            account=self._portfolio.account,
            drifts=len(drifts),
            repaired=report.repaired,
            halted=report.halted,
            attempts=attempts,
        )
        return report

    def _remember(self, report: ReconcileReport, now_ms: int) -> None:
        self._store.set_state(
            last_run_key(self._portfolio.account),
            {
                "run_ms": now_ms,
                "drifts": len(report.drifts),
                "repaired": report.repaired,
                "halted": report.halted,
            },
            now_ms,
        )

    # ---- comparing ------------------------------------------------------------------------

    async def _compare(self, now_ms: int) -> list[Drift]:
        venue_orders = await self._account.open_orders()
        if await self._settle_vanished_stops(venue_orders, now_ms):
            venue_orders = await self._account.open_orders()
        snapshot = await self._account.account_snapshot()
        marks = await self._market.mids()
        # our beliefs, from memory: the stops we think rest, the orders we are sending now
        stops = self._positions.resting_stops()
        in_flight = set(self._executor.in_flight.values())
        in_flight.update(
            p.coin for p in self._portfolio.open_positions if self._positions.busy(p.id or -1)
        )
        return compare(
            positions=[
                LocalPosition(p.id or -1, p.coin, p.side, p.size, p.entry_price)
                for p in self._portfolio.open_positions
            ],
            stops=[
                LocalStop(o.client_order_id, o.position_id, o.coin, o.size, o.trigger_price or 0.0)
                for o in stops
            ],
            holdings=[
                VenueHolding(h.coin, h.side, h.size, h.entry_price) for h in snapshot.positions
            ],
            venue_orders=[VenueOrder(o.client_order_id, o.coin, o.size) for o in venue_orders],
            known_order_ids={o.client_order_id for o in stops} | set(self._executor.in_flight),
            marks=marks,
            local_equity=self._portfolio.equity(marks),
            venue_value=snapshot.account_value,
            threshold_usd=self._threshold,
            in_flight_coins=in_flight,
        )

    async def _settle_vanished_stops(self, venue_orders: list[OpenOrder], now_ms: int) -> int:
        """A stop we think rests but the venue no longer lists fired or was cancelled: ask
        the venue for its record (its fills close the position the normal way) → how many."""
        resting = {o.client_order_id for o in venue_orders}
        settled = 0
        for position in self._portfolio.open_positions:
            stop = self._positions.stop_of(position.id or -1)
            if stop is not None and stop.client_order_id not in resting:
                await self._executor.refresh(stop, now_ms)
                settled += 1
        return settled

    # ---- resolving ------------------------------------------------------------------------

    async def _resolve(self, report: ReconcileReport, now_ms: int) -> None:
        halt = self._on_drift == HALT
        marks = await self._market.mids()
        records: list[DiscrepancyRecord] = []
        for drift in report.drifts:
            if drift.kind in RECORD_ONLY:
                resolution = "recorded"
            elif halt:
                resolution = "halted"
                report.halted = True
            else:
                resolution = await self._repair(drift, marks, now_ms)
                report.repaired += 1
            records.append(
                DiscrepancyRecord(
                    account=self._portfolio.account,
                    run_ms=now_ms,
                    kind=drift.kind.value,
                    coin=drift.coin,
                    local=drift.local,
                    venue=drift.venue,
                    diff_usd=drift.diff_usd,
                    resolution=resolution,
                )
            )
            log.warning(
                "reconciliation_drift",
                kind=drift.kind.value,
                coin=drift.coin,
                local=drift.local,
                venue=drift.venue,
                diff_usd=round(drift.diff_usd, 2),
                resolution=resolution,
            )
        self._store.record_discrepancies(records)
        if report.halted:
            self._store.set_state(
                halted_key(self._portfolio.account),
                {"since_ms": now_ms, "reason": "reconciliation drift"},
                now_ms,
            )
            log.error("account_halted", account=self._portfolio.account)

    async def _repair(self, drift: Drift, marks: Mapping[str, float], now_ms: int) -> str:
        assert drift.coin is not None
        snapshot = await self._account.account_snapshot()
        held = next((h for h in snapshot.positions if h.coin == drift.coin), None)
        mark = marks.get(drift.coin)
        if drift.kind is DriftKind.STOP_MISSING:
            return self._owe_stop(drift, now_ms)
        if drift.kind in (DriftKind.MISSING_AT_VENUE, DriftKind.SIDE):
            for position in self._positions_in(drift.coin):
                self._close_locally(position, mark, now_ms)
            if drift.kind is DriftKind.MISSING_AT_VENUE:
                return "closed ours: the venue is flat"
        if held is None:
            return "nothing to adopt"
        ours = self._positions_in(drift.coin)
        if ours:  # SIZE: the venue's size is the truth; the stop must cover it
            position = ours[0]
            position.size = held.size
            self._store.save_position(position)
            self._owe(position, now_ms, f"reconcile:{drift.coin}:{now_ms}")
            return f"adopted the venue's size {held.size:g}"
        self._adopt(held.coin, held.side, held.size, held.entry_price, now_ms)
        return f"adopted the venue's {held.side.value} {held.size:g}"

    def _positions_in(self, coin: str) -> list[PositionRecord]:
        return [p for p in self._portfolio.open_positions if p.coin == coin]

    def _close_locally(self, position: PositionRecord, mark: float | None, now_ms: int) -> None:
        price = mark if mark is not None else position.entry_price
        gain = pnl(position.side, position.entry_price, price, position.size)
        position.realized_pnl += gain
        position.status = PositionStatus.CLOSED
        position.closed_ms = now_ms
        position.exit_price = price
        position.close_reason = ReasonCode.RECONCILED_FLAT.value
        position.size = 0.0
        self._store.adopt_position(position, gain, now_ms)
        self._portfolio.apply(position, gain)
        stop = self._positions.stop_of(position.id or -1)
        if stop is not None:
            self._expire_stop(stop, now_ms)
        for kind in ObligationKind:
            self._store.complete_obligations(position.id or -1, kind, now_ms)

    def _adopt(self, coin: str, side: Side, size: float, entry: float, now_ms: int) -> None:
        position = PositionRecord(
            account=self._portfolio.account,
            coin=coin,
            side=side,
            size=size,
            entry_price=entry,
            opened_ms=now_ms,
            stop_price=compute_stop_price(entry, side, self._params),
            trailing_stop=compute_trailing_stop_initial(entry, side, self._params),
            extreme_price=entry,
        )
        self._store.adopt_position(position, 0.0, now_ms)
        self._portfolio.apply(position, 0.0)
        self._owe(position, now_ms, f"reconcile:{coin}:{now_ms}")

    def _owe_stop(self, drift: Drift, now_ms: int) -> str:
        stop = self._store.order_by_client_id(drift.client_order_id or "")
        if stop is not None and stop.state is OrderState.SUBMITTED:
            self._expire_stop(stop, now_ms)
        position = self._portfolio.get(drift.position_id or -1)
        if position is None:
            return "stop settled; its position is closed"
        self._owe(position, now_ms, f"restop:{drift.client_order_id}")
        return "a new stop is owed"

    def _expire_stop(self, stop: OrderRecord, now_ms: int) -> None:
        if stop.state is OrderState.SUBMITTED:
            stop.state = advance(stop.state, OrderState.EXPIRED)
            stop.reason, stop.updated_ms = "missing at venue (reconciliation)", now_ms
            self._store.update_order(stop)
        self._positions.forget_stop(stop)

    def _owe(self, position: PositionRecord, now_ms: int, cause: str) -> None:
        self._store.add_obligations(
            [
                ObligationRecord(
                    key=f"protect:{cause}",
                    kind=ObligationKind.PROTECT,
                    account=position.account,
                    position_id=position.id,
                    created_ms=now_ms,
                    due_ms=now_ms,
                    reason="reconciliation: stop must rest at the venue",
                )
            ]
        )
        self._executor.on_obligation(now_ms)
