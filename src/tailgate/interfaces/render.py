"""Rich rendering of run summaries and leader tables, written for a newcomer."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

from tailgate.config import Settings
from tailgate.domain.models import Trader
from tailgate.domain.positions import pnl
from tailgate.interfaces.summary import RunSummary

__all__ = ["render_leaders", "render_summary"]

_OUTCOME_HELP = {
    "accepted": "copied: an order was placed",
    "rejected": "a gate said no",
    "deferred": "still waiting for confirmation",
    "exit": "leader reduced or closed: not an entry",
}


def _short(address: str) -> str:
    return f"{address[:6]}…{address[-4:]}" if len(address) > 12 else address


def _price(x: float) -> str:
    return f"{x:,.2f}" if x >= 100 else f"{x:.4g}"


def _money(x: float) -> str:
    return f"-${-x:,.0f}" if x < 0 else f"${x:,.0f}"


def render_summary(console: Console, s: RunSummary, settings: Settings) -> None:
    speed = s.simulated_days / s.wall_seconds if s.wall_seconds else 0.0
    console.rule("[bold]Leaders selected to copy (primary tier)")
    table = Table(show_lines=False)
    for col in (
        "leader",
        "style",
        "score",
        "30d ROI",
        "win rate",
        "trades",
        "hidden truth",
        "skilled?",
    ):
        table.add_column(
            col, justify="right" if col in ("score", "30d ROI", "win rate", "trades") else "left"
        )
    for r in s.primary:
        t = r.trader
        table.add_row(
            _short(t.address),
            t.style.value if t.style else "-",
            f"{t.score:.3f}",
            f"{t.roi_30d:+.1%}",
            f"{t.win_rate:.0%}",
            str(t.trade_count),
            r.archetype,
            "[green]yes[/green]" if r.skilled else "[red]no[/red]",
        )
    console.print(table)
    console.print(
        f"Selection precision: [bold]{sum(r.skilled for r in s.primary)} of {len(s.primary)}"
        f"[/bold] primary leaders are genuinely skilled ({s.primary_precision:.0%}); in the whole "
        f"population only {s.skilled_in_population} of {s.population} are "
        f"({s.skilled_in_population / max(s.population, 1):.0%}). "
        f"{s.secondary_count} more are watched (secondary)."
    )
    if len(s.precision_by_refresh) > 1:
        console.print(
            f"Over the {len(s.precision_by_refresh)} daily selections of the run, on average "
            f"{s.mean_precision:.0%} of the primary tier was genuinely skilled."
        )
    if s.copied:
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(s.copied_archetypes.items()))
        console.print(f"Leaders actually copied over the run: {len(s.copied)} ({kinds}).")

    console.rule("[bold]Signals: every leader trade, and what the nine-step pipeline decided")
    table = Table()
    table.add_column("outcome")
    table.add_column("reason")
    table.add_column("trades", justify="right")
    table.add_column("meaning")
    for outcome, reason, count in sorted(s.signal_outcomes, key=lambda x: (x[0], -x[2])):
        table.add_row(outcome, reason, str(count), _OUTCOME_HELP.get(outcome, ""))
    console.print(table)
    if s.fills_rejected:
        console.print(f"{s.fills_rejected} malformed leader fills were rejected and logged.")

    console.rule("[bold]Positions")
    table = Table()
    for col in ("coin", "side", "leader", "size", "entry", "exit / mark", "PnL", "status"):
        table.add_column(
            col, justify="right" if col in ("size", "entry", "exit / mark", "PnL") else "left"
        )
    rows = sorted(s.closed_positions, key=lambda p: p.opened_ms)[-12:]
    for p in rows:
        table.add_row(
            p.coin,
            p.side.value,
            _short(p.leader or "-"),
            "-",
            _price(p.entry_price),
            _price(p.exit_price or 0.0),
            _money(p.realized_pnl),
            f"closed: {p.close_reason}",
        )
    for p in s.open_positions:
        mark = s.marks.get(p.coin, p.entry_price)
        upnl = pnl(p.side, p.entry_price, mark, p.size) + p.realized_pnl
        table.add_row(
            p.coin,
            p.side.value,
            _short(p.leader or "-"),
            f"{p.size:g}",
            _price(p.entry_price),
            _price(mark),
            _money(upnl),
            "open",
        )
    console.print(table)
    hidden = len(s.closed_positions) - len(rows)
    console.print(
        f"{len(s.closed_positions)} closed, {len(s.open_positions)} open"
        + (f" (showing the last {len(rows)} closed)" if hidden > 0 else "")
        + "."
    )

    console.rule("[bold]Result")
    console.print(
        f"Account: {_money(s.starting_balance)} → [bold]{_money(s.equity)}[/bold] "
        f"({s.total_return:+.2%}) — realised {_money(s.realized_pnl)} (fees {_money(s.fees)} "
        f"included), unrealised {_money(s.unrealized_pnl)}, max drawdown {s.max_drawdown:.2%}."
    )
    orders = ", ".join(f"{n} {k}" for k, n in sorted(s.orders_by_state.items()))
    console.print(f"Orders: {orders or 'none'}.")
    console.print(
        f"Simulated {s.simulated_days:.0f} days in {s.wall_seconds:.1f} s "
        f"({speed:.1f} simulated days per second), mode: {settings.mode.value}."
    )


def render_leaders(
    console: Console, traders: Sequence[Trader], world: object | None, limit: int
) -> None:
    ranked = sorted(traders, key=lambda t: (-t.score, t.address))[:limit]
    table = Table(title=f"Leaders by score (top {len(ranked)} of {len(traders)})")
    cols = [
        "leader",
        "tier",
        "style",
        "score",
        "account",
        "7d",
        "30d",
        "90d",
        "win rate",
        "trades",
        "why not",
    ]
    if world is not None:
        cols.append("hidden truth")
    for col in cols:
        table.add_column(col)
    for t in ranked:
        row = [
            _short(t.address),
            t.tier.value,
            t.style.value if t.style else "-",
            f"{t.score:.3f}",
            _money(t.account_value),
            f"{t.roi_7d:+.1%}",
            f"{t.roi_30d:+.1%}",
            f"{t.roi_90d:+.1%}",
            f"{t.win_rate:.0%}",
            str(t.trade_count),
            t.disqualified_reason or "",
        ]
        if world is not None:
            truth = world.hidden_skill(t.address)  # type: ignore[attr-defined]
            row.append(truth.archetype)
        table.add_row(*row)
    console.print(table)
