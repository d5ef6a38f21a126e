"""What happened in a run, as plain data: the demo prints it, tests assert on it."""

from __future__ import annotations

from dataclasses import dataclass, field

from tailgate.domain.models import Trader
from tailgate.engine.sim_session import SimSession
from tailgate.store.records import OrderPurpose, OrderState, PositionRecord, PositionStatus

__all__ = ["LeaderRow", "RunSummary", "summarize"]


@dataclass(frozen=True, slots=True)
class LeaderRow:
    trader: Trader
    archetype: str
    skilled: bool


@dataclass(slots=True)
class RunSummary:
    simulated_days: float
    wall_seconds: float
    primary: list[LeaderRow]
    secondary_count: int
    population: int
    skilled_in_population: int
    copied: list[LeaderRow]
    copied_archetypes: dict[str, int]
    signal_outcomes: list[tuple[str, str, int]]
    open_positions: list[PositionRecord]
    closed_positions: list[PositionRecord]
    marks: dict[str, float]
    starting_balance: float
    cash: float
    equity: float
    fees: float
    orders_by_state: dict[str, int]
    fills_rejected: int
    max_drawdown: float
    precision_by_refresh: list[float]  # share of skilled leaders in each daily primary tier
    equity_curve: list[tuple[int, float]] = field(default_factory=list)

    @property
    def primary_precision(self) -> float:
        return sum(r.skilled for r in self.primary) / len(self.primary) if self.primary else 0.0

    @property
    def mean_precision(self) -> float:
        """Selection precision averaged over every daily selection of the run."""
        runs = self.precision_by_refresh
        return sum(runs) / len(runs) if runs else self.primary_precision

    @property
    def realized_pnl(self) -> float:
        return sum(p.realized_pnl for p in self.closed_positions + self.open_positions)

    @property
    def unrealized_pnl(self) -> float:
        return self.equity - self.cash

    @property
    def total_return(self) -> float:
        return self.equity / self.starting_balance - 1


def summarize(session: SimSession, marks: dict[str, float]) -> RunSummary:
    store, world, engine = session.store, session.world, session.engine

    def row(t: Trader) -> LeaderRow:
        truth = world.hidden_skill(t.address)
        return LeaderRow(t, truth.archetype, truth.is_skilled)

    copied_addresses = store.copied_leaders()
    copied = [
        row(engine.leaders.traders.get(a) or Trader(address=a)) for a in sorted(copied_addresses)
    ]
    archetypes: dict[str, int] = {}
    for r in copied:
        archetypes[r.archetype] = archetypes.get(r.archetype, 0) + 1
    positions = store.load_positions(account=engine.portfolio.account)
    orders: dict[str, int] = {}
    for o in store.load_orders(account=engine.portfolio.account):
        key = f"{o.purpose.value}:{o.state.value}"
        orders[key] = orders.get(key, 0) + 1
    curve = store.load_equity(engine.portfolio.account)
    peak, worst = 0.0, 0.0
    for _, v in curve:
        peak = max(peak, v)
        worst = max(worst, (peak - v) / peak if peak else 0.0)
    population = [world.hidden_skill(a) for a in world.leader_addresses()]
    precision_by_refresh = [
        sum(world.hidden_skill(a).is_skilled for a in primary) / len(primary)
        for _, primary in engine.leaders.selections
        if primary
    ]
    return RunSummary(
        simulated_days=session.simulated_days,
        wall_seconds=session.wall_seconds,
        primary=[row(t) for t in engine.leaders.primary],
        secondary_count=len(engine.leaders.secondary),
        population=len(population),
        skilled_in_population=sum(t.is_skilled for t in population),
        copied=copied,
        copied_archetypes=archetypes,
        signal_outcomes=store.final_signal_outcomes(),
        open_positions=[p for p in positions if p.status is PositionStatus.OPEN],
        closed_positions=[p for p in positions if p.status is PositionStatus.CLOSED],
        marks=marks,
        starting_balance=session.settings.paper_starting_balance_usd,
        cash=engine.portfolio.cash,
        equity=engine.portfolio.equity(marks),
        fees=sum(p.fees_paid for p in positions),
        orders_by_state=orders,
        fills_rejected=store.table_counts().get("rejected_fills", 0),
        max_drawdown=worst,
        precision_by_refresh=precision_by_refresh,
        equity_curve=curve,
    )


def entry_orders_filled(summary: RunSummary) -> int:
    return sum(
        n
        for k, n in summary.orders_by_state.items()
        if k
        in (
            f"{OrderPurpose.ENTRY.value}:{OrderState.FILLED.value}",
            f"{OrderPurpose.ENTRY.value}:{OrderState.PARTIAL.value}",
        )
    )
