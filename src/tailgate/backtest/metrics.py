"""Backtest metrics (SPEC §B2) from a closed-trade list and an equity curve.

Pure arithmetic on plain dataclasses, no I/O and no pandas: the same numbers feed the terminal
summary, the `--json` output and the HTML report, so they are computed once, here.

Conventions (SPEC domain): times are UTC milliseconds, returns and ratios are fractions, money
is USD. The equity curve is read as "the starting balance, then the points": the starting
balance is the first peak for the drawdown, the base of day one's return for the Sharpe ratio
and the base of the total return.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from tailgate.domain.models import MS_PER_DAY, MS_PER_HOUR, Side
from tailgate.domain.positions import pnl as position_pnl

__all__ = [
    "DAYS_PER_YEAR",
    "NO_LEADER",
    "LeaderAttribution",
    "Metrics",
    "TradeRecord",
    "compute_metrics",
    "daily_returns",
    "drawdown_series",
    "leader_exit_pnl",
    "max_drawdown",
    "sharpe_ratio",
]

DAYS_PER_YEAR = 365
"""Crypto trades every day of the year, so daily returns annualise with sqrt(365), not 252."""

NO_LEADER = "(no leader)"
"""Attribution key for trades that no leader caused (e.g. a position opened by hand)."""

_BLOWN = 1e-9
"""An account below this fraction of its starting balance is blown: its later daily returns are
0, not the astronomic ratios that dividing by dust would give."""

_ZERO_VARIANCE = 1e-12
"""Below this (relative) standard deviation the daily returns are treated as constant: float
noise on a perfectly steady curve would otherwise give an absurd Sharpe of 10^15."""


@dataclass(frozen=True, slots=True)
class TradeRecord:
    """One closed position of ours, with what its leader did, as the backtester reports it.

    `size` is every coin we entered (partial exits included); `exit_price` is the size-weighted
    average of our exits; `pnl` is realised and net of `fees`. `leader_exit_price` and
    `leader_exit_ms` say where and when the leader closed the same position, when they did.
    """

    coin: str
    side: Side
    leader: str | None
    opened_ms: int
    closed_ms: int
    entry_price: float
    exit_price: float
    size: float
    pnl: float
    fees: float
    close_reason: str
    leader_exit_price: float | None = None
    leader_exit_ms: int | None = None

    @property
    def duration_hours(self) -> float:
        return (self.closed_ms - self.opened_ms) / MS_PER_HOUR

    @property
    def is_win(self) -> bool:
        """A win made money after fees; a break-even trade is neither a win nor a loss."""
        return self.pnl > 0


@dataclass(frozen=True, slots=True)
class LeaderAttribution:
    """How the trades copied from one leader did."""

    trades: int
    pnl: float
    win_rate: float


@dataclass(frozen=True, slots=True)
class Metrics:
    """Everything §B2 asks for; fractions are fractions (0.25 = 25 %).

    `sharpe` is annualised from daily returns with sqrt(365) and a zero risk-free rate; it is
    0.0 with fewer than two days or constant daily returns. `profit_factor` is gross profit /
    gross loss: `math.inf` when some trades won and none lost, 0.0 with no trade (or only
    break-even ones). `exit_edge` = `our_exit_pnl_same_trades` − `leader_exit_pnl`, over the
    `trades_with_leader_exit` trades whose leader exit is known: positive means our exits (stops,
    trailing stops, time stops, profit tiers) beat simply leaving when the leader left.
    """

    starting_balance: float
    final_equity: float
    total_return: float
    max_drawdown: float
    sharpe: float
    win_rate: float
    profit_factor: float
    avg_trade_duration_hours: float
    trade_count: int
    pnl: float
    fees: float
    leader_exit_pnl: float
    our_exit_pnl_same_trades: float
    exit_edge: float
    trades_with_leader_exit: int
    by_leader: dict[str, LeaderAttribution] = field(default_factory=dict)
    by_close_reason: dict[str, int] = field(default_factory=dict)


def leader_exit_pnl(trade: TradeRecord) -> float | None:
    """What `trade` would have made leaving where the leader left: same size, same fees.

    None when the leader's exit is unknown (they still hold, or we never saw them close).
    """
    if trade.leader_exit_price is None:
        return None
    gross = position_pnl(trade.side, trade.entry_price, trade.leader_exit_price, trade.size)
    return gross - trade.fees


def drawdown_series(
    equity: Sequence[tuple[int, float]], starting_balance: float
) -> list[tuple[int, float]]:
    """Underwater curve: at each point, how far equity is below its running peak (≤ 0, fraction).

    The starting balance is the first peak, so a curve that only ever falls still shows its
    drawdown.
    """
    peak = starting_balance
    out: list[tuple[int, float]] = []
    for t, e in equity:
        peak = max(peak, e)
        out.append((t, (e - peak) / peak if peak > 0 else 0.0))
    return out


def max_drawdown(equity: Sequence[tuple[int, float]], starting_balance: float) -> float:
    """Largest peak-to-trough fall, as a (positive) fraction of the peak."""
    return max((-d for _, d in drawdown_series(equity, starting_balance)), default=0.0)


def daily_returns(equity: Sequence[tuple[int, float]], starting_balance: float) -> list[float]:
    """Returns of the equity curve resampled to UTC day ends.

    Each calendar day from the first point's to the last point's contributes one return: its
    last equity over the previous day's last (day one: over the starting balance). A day without
    a point carries the previous value forward (return 0), so irregular snapshots still give one
    return per day.
    """
    if not equity:
        return []
    day_ends: dict[int, float] = {}
    for t, e in equity:
        day_ends[t // MS_PER_DAY] = e  # ascending, so the last point of each day wins
    first, last = min(day_ends), max(day_ends)
    blown = starting_balance * _BLOWN
    returns: list[float] = []
    prev = starting_balance
    for day in range(first, last + 1):
        value = day_ends.get(day, prev)
        returns.append(value / prev - 1 if prev > blown else 0.0)
        prev = value
    return returns


def sharpe_ratio(returns: Sequence[float]) -> float:
    """Annualised Sharpe of daily returns (risk-free 0, sample standard deviation)."""
    n = len(returns)
    scale = max((abs(r) for r in returns), default=0.0)
    if n < 2 or scale == 0:
        return 0.0
    returns = [r / scale for r in returns]  # the ratio is scale-free; this keeps squares finite
    mean = math.fsum(returns) / n
    std = math.sqrt(math.fsum((r - mean) ** 2 for r in returns) / (n - 1))
    if std <= _ZERO_VARIANCE:
        return 0.0
    return mean / std * math.sqrt(DAYS_PER_YEAR)


def _profit_factor(trades: Sequence[TradeRecord]) -> float:
    gross_profit = math.fsum(t.pnl for t in trades if t.pnl > 0)
    gross_loss = -math.fsum(t.pnl for t in trades if t.pnl < 0)
    if gross_loss > 0:
        return gross_profit / gross_loss
    return math.inf if gross_profit > 0 else 0.0


def _win_rate(trades: Sequence[TradeRecord]) -> float:
    return sum(t.is_win for t in trades) / len(trades) if trades else 0.0


def _by_leader(trades: Sequence[TradeRecord]) -> dict[str, LeaderAttribution]:
    groups: dict[str, list[TradeRecord]] = {}
    for t in trades:
        groups.setdefault(t.leader or NO_LEADER, []).append(t)
    rows = {
        leader: LeaderAttribution(len(ts), math.fsum(t.pnl for t in ts), _win_rate(ts))
        for leader, ts in groups.items()
    }
    # best first; the name breaks ties so two runs print the same order
    return dict(sorted(rows.items(), key=lambda kv: (-kv[1].pnl, kv[0])))


def _by_close_reason(trades: Sequence[TradeRecord]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for t in trades:
        counts[t.close_reason] = counts.get(t.close_reason, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _check_finite(label: str, values: Iterable[float | None]) -> None:
    for v in values:
        if v is not None and not math.isfinite(v):
            raise ValueError(f"{label} has a non-finite number ({v}); metrics would be NaN")


def _validate(
    trades: Sequence[TradeRecord], equity: Sequence[tuple[int, float]], starting_balance: float
) -> None:
    """Fail loudly on input that would silently turn the metrics into NaN or nonsense."""
    if not (math.isfinite(starting_balance) and starting_balance > 0):
        raise ValueError(f"starting_balance must be a positive number, got {starting_balance}")
    for i, t in enumerate(trades):
        _check_finite(
            f"trade #{i} ({t.coin} {t.side.value})",
            (t.entry_price, t.exit_price, t.size, t.pnl, t.fees, t.leader_exit_price),
        )
        if t.closed_ms < t.opened_ms:
            raise ValueError(f"trade #{i} ({t.coin}) closes before it opens")
    prev_t: int | None = None
    for t, e in equity:
        _check_finite(f"equity point at {t}", (e,))
        if prev_t is not None and t < prev_t:
            raise ValueError(f"equity points must be in ascending time ({t} after {prev_t})")
        prev_t = t


def compute_metrics(
    trades: Sequence[TradeRecord],
    equity: Sequence[tuple[int, float]],
    starting_balance: float,
) -> Metrics:
    """All §B2 metrics of one backtest.

    `equity` is (time_ms, equity) in ascending time, at any spacing (hourly snapshots are
    typical). Without any point the final equity is the starting balance plus the trades' PnL.
    Raises ValueError on non-finite numbers, unordered equity or a non-positive balance.
    """
    _validate(trades, equity, starting_balance)
    total_pnl = math.fsum(t.pnl for t in trades)
    final_equity = equity[-1][1] if equity else starting_balance + total_pnl

    compared = [(t, leader_exit_pnl(t)) for t in trades if t.leader_exit_price is not None]
    leader_exit_total = math.fsum(cf for _, cf in compared if cf is not None)
    ours_same_trades = math.fsum(t.pnl for t, _ in compared)

    durations = [t.duration_hours for t in trades]
    return Metrics(
        starting_balance=starting_balance,
        final_equity=final_equity,
        total_return=final_equity / starting_balance - 1,
        max_drawdown=max_drawdown(equity, starting_balance),
        sharpe=sharpe_ratio(daily_returns(equity, starting_balance)),
        win_rate=_win_rate(trades),
        profit_factor=_profit_factor(trades),
        avg_trade_duration_hours=math.fsum(durations) / len(durations) if durations else 0.0,
        trade_count=len(trades),
        pnl=total_pnl,
        fees=math.fsum(t.fees for t in trades),
        leader_exit_pnl=leader_exit_total,
        our_exit_pnl_same_trades=ours_same_trades,
        exit_edge=ours_same_trades - leader_exit_total,
        trades_with_leader_exit=len(compared),
        by_leader=_by_leader(trades),
        by_close_reason=_by_close_reason(trades),
    )
