"""Backtest reports (SPEC §B3): `--json` data, a rich terminal summary, one offline HTML file.

All three read the same `Metrics` (see `metrics.py`) so they can never disagree. The HTML report
needs plotly (the optional `report` extra); it is imported only when a report is written, so the
engine and the terminal summary work without it.
"""

from __future__ import annotations

import html
import math
import os
from collections.abc import Sequence
from dataclasses import fields
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tailgate.backtest.metrics import Metrics, TradeRecord, drawdown_series, leader_exit_pnl

__all__ = [
    "JSON_SCHEMA_VERSION",
    "MAX_PLOT_POINTS",
    "MAX_TABLE_TRADES",
    "ReportUnavailableError",
    "downsample",
    "exit_comparison_sentence",
    "metrics_to_json",
    "render_terminal",
    "write_html_report",
]

JSON_SCHEMA_VERSION = 1
"""Bumped when a key of `metrics_to_json` changes meaning or disappears (adding one is free)."""

MAX_PLOT_POINTS = 5_000
"""Curves longer than this are downsampled for plotting (min/max per bucket, see `downsample`):
a year of minute snapshots would otherwise make a 30 MB page that a browser struggles with."""

MAX_TABLE_TRADES = 5_000
"""The HTML trade table keeps the most recent trades beyond this; `--json` always has them all."""

TOP_LEADERS_TERMINAL = 10
TOP_LEADERS_CHART = 20
BIGGEST_TRADES = 3  # winners and losers each, in the terminal

_REASON_HELP = {
    "STOP_LOSS": "the hard stop at the venue was hit",
    "TRAILING_STOP": "price fell back from its best by the trailing distance",
    "TIME_STOP": "held too long (time stop)",
    "PROFIT_TIER": "the last part was taken as profit",
    "LEADER_CLOSED": "the leader closed, we followed",
    "LEADER_REDUCED": "the leader reduced, we followed",
    "TRADER_LIQUIDATED": "the leader was liquidated, we got out",
    "END_OF_DATA": "still open when the data ended",
}


class ReportUnavailableError(RuntimeError):
    """The HTML report cannot be written because its optional dependency is missing."""


# ---------------------------------------------------------------- formatting helpers


def _money(x: float) -> str:
    return f"-${-x:,.2f}" if x < 0 else f"${x:,.2f}"


def _price(x: float) -> str:
    """Enough digits for BTC at 60,000 and a meme coin at 0.0000123 alike."""
    if abs(x) >= 100:
        return f"{x:,.2f}"
    return f"{x:.4f}" if abs(x) >= 1 else f"{x:.6g}"


def _short(name: str) -> str:
    return f"{name[:6]}…{name[-4:]}" if len(name) > 12 else name


def _utc(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M")


def _profit_factor(m: Metrics) -> str:
    if m.trade_count == 0:
        return "-"
    return "∞ (no losing trade)" if math.isinf(m.profit_factor) else f"{m.profit_factor:.2f}"


def _headline(m: Metrics) -> list[tuple[str, str, str]]:
    """(metric, value, what it means) — shared by the terminal table and the HTML cards."""
    return [
        (
            "total return",
            f"{m.total_return:+.2%}",
            f"{_money(m.starting_balance)} → {_money(m.final_equity)}",
        ),
        ("max drawdown", f"{m.max_drawdown:.2%}", "worst fall from a previous high"),
        ("Sharpe", f"{m.sharpe:.2f}", "daily return per unit of risk, annualised; > 1 is good"),
        ("trades", f"{m.trade_count:,}", "positions opened and closed"),
        ("win rate", f"{m.win_rate:.1%}", "trades that made money after fees"),
        ("profit factor", _profit_factor(m), "money won ÷ money lost; > 1 makes money"),
        ("avg duration", f"{m.avg_trade_duration_hours:.1f} h", "from entry to our last exit"),
        ("realised PnL", _money(m.pnl), "closed trades, after fees"),
        ("fees", _money(m.fees), "paid to the venue"),
        ("exit edge", _money(m.exit_edge), "our exits minus the leaders' exits (below)"),
    ]


def exit_comparison_sentence(m: Metrics) -> str:
    """§B2 'our exits vs the leader's exits', in one sentence a newcomer can follow."""
    n = m.trades_with_leader_exit
    if n == 0:
        return (
            "None of our trades has a known leader exit yet, so there is nothing to compare our "
            "exits with."
        )
    verdict = "better" if m.exit_edge >= 0 else "worse"
    return (
        f"On the {n} trade{'s' if n != 1 else ''} whose leader also closed, simply closing "
        f"when and where the leader did would have made {_money(m.leader_exit_pnl)}, while our "
        f"own exits (stops, trailing stops, time stops, profit taking) made "
        f"{_money(m.our_exit_pnl_same_trades)}: {_money(abs(m.exit_edge))} {verdict}."
    )


# ---------------------------------------------------------------- JSON


def _json_safe(value: Any) -> Any:
    """Plain JSON types only: inf and NaN become null, enums their value, tuples lists."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def _trade_json(t: TradeRecord) -> dict[str, Any]:
    row: dict[str, Any] = {f.name: getattr(t, f.name) for f in fields(t)}
    row["duration_hours"] = t.duration_hours
    row["leader_exit_pnl"] = leader_exit_pnl(t)
    return row


def metrics_to_json(
    metrics: Metrics, trades: Sequence[TradeRecord], equity: Sequence[tuple[int, float]]
) -> dict[str, Any]:
    """Everything for `--json`: keys in a fixed order, no inf/NaN (`json.dumps` never fails).

    A null `profit_factor` means infinite (some winners, no loser): JSON has no infinity and
    null is what JavaScript's JSON.stringify writes for it too.
    """
    scalars = {
        f.name: getattr(metrics, f.name)
        for f in fields(metrics)
        if f.name not in ("by_leader", "by_close_reason")
    }
    return _json_safe(
        {
            "schema_version": JSON_SCHEMA_VERSION,
            "metrics": scalars,
            "by_leader": {
                leader: {"trades": a.trades, "pnl": a.pnl, "win_rate": a.win_rate}
                for leader, a in metrics.by_leader.items()
            },
            "by_close_reason": dict(metrics.by_close_reason),
            "trades": [_trade_json(t) for t in trades],
            "equity": [[t, e] for t, e in equity],
        }
    )


# ---------------------------------------------------------------- terminal


def render_terminal(console: Console, metrics: Metrics, trades: Sequence[TradeRecord]) -> None:
    """Rich summary: headline metrics, exit reasons, top leaders, our exits vs theirs."""
    m = metrics
    console.rule("[bold]Backtest result")
    table = Table()
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("meaning")
    for name, value, meaning in _headline(m):
        table.add_row(name, escape(value), escape(meaning))
    console.print(table)

    console.rule("[bold]Why our positions were closed")
    if m.by_close_reason:
        table = Table()
        table.add_column("reason")
        table.add_column("trades", justify="right")
        table.add_column("share", justify="right")
        table.add_column("meaning")
        for reason, count in m.by_close_reason.items():
            table.add_row(
                escape(reason),
                str(count),
                f"{count / m.trade_count:.0%}",
                _REASON_HELP.get(reason, ""),
            )
        console.print(table)
    else:
        console.print("No trade was closed.")

    if m.by_leader:
        shown = list(m.by_leader.items())[:TOP_LEADERS_TERMINAL]
        console.rule(f"[bold]Per-leader attribution (best {len(shown)} of {len(m.by_leader)})")
        table = Table()
        table.add_column("leader")
        table.add_column("trades", justify="right")
        table.add_column("PnL", justify="right")
        table.add_column("win rate", justify="right")
        for leader, a in shown:
            table.add_row(escape(_short(leader)), str(a.trades), _money(a.pnl), f"{a.win_rate:.0%}")
        console.print(table)

    console.rule("[bold]Our exits vs the leaders' exits")
    console.print(escape(exit_comparison_sentence(m)))

    if trades:
        console.rule("[bold]Biggest winners and losers")
        ranked = sorted(trades, key=lambda t: (-t.pnl, t.closed_ms))
        picked = ranked
        if len(ranked) > 2 * BIGGEST_TRADES:
            picked = ranked[:BIGGEST_TRADES] + ranked[-BIGGEST_TRADES:]
        table = Table()
        for col in ("coin", "side", "leader", "opened (UTC)", "hours", "entry", "exit", "PnL"):
            table.add_column(
                col, justify="right" if col in ("hours", "entry", "exit", "PnL") else "left"
            )
        table.add_column("closed because")
        for t in picked:
            table.add_row(
                escape(t.coin),
                t.side.value,
                escape(_short(t.leader or "-")),
                _utc(t.opened_ms),
                f"{t.duration_hours:.1f}",
                _price(t.entry_price),
                _price(t.exit_price),
                _money(t.pnl),
                escape(t.close_reason),
            )
        console.print(table)


# ---------------------------------------------------------------- HTML


def downsample(
    points: Sequence[tuple[int, float]], max_points: int = MAX_PLOT_POINTS
) -> list[tuple[int, float]]:
    """At most `max_points` points that still show every peak and trough.

    Equal-count buckets keep their lowest and highest point (in time order), plus the first and
    last point of the curve: a plain stride would skip the very trough a drawdown chart is for.
    """
    n = len(points)
    if n <= max_points:
        return list(points)
    buckets = max(1, (max_points - 2) // 2)
    out = [points[0]]
    inner = n - 2
    for b in range(buckets):
        lo, hi = 1 + b * inner // buckets, 1 + (b + 1) * inner // buckets
        if lo >= hi:
            continue
        chunk = range(lo, hi)
        i_min = min(chunk, key=lambda i: points[i][1])
        i_max = max(chunk, key=lambda i: points[i][1])
        out.extend(points[i] for i in sorted({i_min, i_max}))
    out.append(points[-1])
    return out


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;
max-width:1200px;padding:0 1rem;color:#1f2933}
h1{margin-bottom:.2rem}h2{margin-top:2.2rem;border-bottom:1px solid #e4e7eb;padding-bottom:.3rem}
.sub{color:#616e7c;margin-top:0}code{font-size:.85em;word-break:break-all}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:.8rem}
.card{border:1px solid #e4e7eb;border-radius:8px;padding:.7rem .9rem}
.card .v{font-size:1.4rem;font-weight:600}.card .k{color:#616e7c;font-size:.8rem}
.card .m{color:#9aa5b1;font-size:.75rem}
.explain{background:#f5f7fa;border-left:4px solid #3e7bfa;padding:.7rem 1rem}
table{border-collapse:collapse;font-size:.82rem;width:100%}
th,td{padding:.25rem .5rem;border-bottom:1px solid #eef0f2;text-align:right;white-space:nowrap}
th{position:sticky;top:0;background:#fff}td.l,th.l{text-align:left}
.pos{color:#16794c}.neg{color:#b42318}.empty{color:#9aa5b1}
"""

_TRADE_COLUMNS = (
    ("#", False),
    ("coin", True),
    ("side", True),
    ("leader", True),
    ("opened (UTC)", True),
    ("closed (UTC)", True),
    ("hours", False),
    ("entry", False),
    ("exit", False),
    ("size", False),
    ("fees", False),
    ("PnL", False),
    ("closed because", True),
    ("leader exit", False),
    ("PnL at leader exit", False),
)


def _signed_cell(x: float | None) -> str:
    if x is None:
        return '<td class="empty">-</td>'
    cls = "pos" if x > 0 else "neg" if x < 0 else ""
    return f'<td class="{cls}">{html.escape(_money(x))}</td>'


def _trade_table(trades: Sequence[TradeRecord]) -> str:
    ordered = sorted(trades, key=lambda t: (t.closed_ms, t.opened_ms))
    shown = ordered[-MAX_TABLE_TRADES:]
    first_no = len(ordered) - len(shown) + 1
    e = html.escape
    head = "".join(
        f'<th class="l">{e(c)}</th>' if left else f"<th>{e(c)}</th>" for c, left in _TRADE_COLUMNS
    )
    rows = []
    for no, t in enumerate(shown, start=first_no):
        leader_exit = "-" if t.leader_exit_price is None else _price(t.leader_exit_price)
        rows.append(
            "<tr>"
            f"<td>{no}</td><td class='l'>{e(t.coin)}</td><td class='l'>{e(t.side.value)}</td>"
            f"<td class='l'>{e(t.leader or '-')}</td>"
            f"<td class='l'>{_utc(t.opened_ms)}</td><td class='l'>{_utc(t.closed_ms)}</td>"
            f"<td>{t.duration_hours:.1f}</td><td>{e(_price(t.entry_price))}</td>"
            f"<td>{e(_price(t.exit_price))}</td><td>{t.size:.6g}</td>"
            f"<td>{e(_money(t.fees))}</td>{_signed_cell(t.pnl)}"
            f"<td class='l'>{e(t.close_reason)}</td><td>{e(leader_exit)}</td>"
            f"{_signed_cell(leader_exit_pnl(t))}"
            "</tr>"
        )
    note = ""
    if len(shown) < len(ordered):
        note = (
            f"<p class='sub'>Showing the last {len(shown):,} of {len(ordered):,} trades; "
            "<code>--json</code> has them all.</p>"
        )
    return f"{note}<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _reason_table(m: Metrics) -> str:
    e = html.escape
    rows = "".join(
        f"<tr><td class='l'>{e(r)}</td><td>{n}</td><td>{n / m.trade_count:.0%}</td>"
        f"<td class='l'>{e(_REASON_HELP.get(r, ''))}</td></tr>"
        for r, n in m.by_close_reason.items()
    )
    return (
        "<table><thead><tr><th class='l'>reason</th><th>trades</th><th>share</th>"
        f"<th class='l'>meaning</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _figures(metrics: Metrics, equity: Sequence[tuple[int, float]]) -> dict[str, Any]:
    """The plotly figures that have something to draw, by section name."""
    try:
        import plotly.graph_objects as go
    except ImportError as exc:
        raise ReportUnavailableError(
            "the HTML report needs plotly, which is not installed: pip install 'tailgate[report]'"
        ) from exc

    layout = {
        "template": "plotly_white",
        "height": 340,
        "margin": {"l": 60, "r": 20, "t": 30, "b": 40},
        "showlegend": False,
    }
    figs: dict[str, Any] = {}
    if equity:
        curve = downsample(equity)
        fig = go.Figure(
            go.Scatter(
                x=[t for t, _ in curve],
                y=[e for _, e in curve],
                mode="lines",
                line={"color": "#3e7bfa", "width": 1.5},
                hovertemplate="%{x|%Y-%m-%d %H:%M} UTC<br>$%{y:,.2f}<extra></extra>",
            ),
            layout=layout,
        )
        fig.update_layout(yaxis_title="equity (USD)", xaxis_type="date")
        figs["equity"] = fig

        under = downsample(drawdown_series(equity, metrics.starting_balance))
        fig = go.Figure(
            go.Scatter(
                x=[t for t, _ in under],
                y=[d for _, d in under],
                mode="lines",
                fill="tozeroy",
                line={"color": "#b42318", "width": 1},
                hovertemplate="%{x|%Y-%m-%d %H:%M} UTC<br>%{y:.2%} below the peak<extra></extra>",
            ),
            layout=layout,
        )
        fig.update_layout(yaxis_title="below previous high", yaxis_tickformat=".1%")
        fig.update_layout(xaxis_type="date")
        figs["drawdown"] = fig

    if metrics.by_leader:
        ranked = sorted(metrics.by_leader.items(), key=lambda kv: (-abs(kv[1].pnl), kv[0]))
        top = sorted(ranked[:TOP_LEADERS_CHART], key=lambda kv: kv[1].pnl)
        names = [leader for leader, _ in top]
        labels = [_short(n) for n in names]
        if len(set(labels)) < len(labels):  # plotly would merge bars with equal labels
            labels = names
        fig = go.Figure(
            go.Bar(
                x=[a.pnl for _, a in top],
                y=labels,
                orientation="h",
                marker_color=["#16794c" if a.pnl >= 0 else "#b42318" for _, a in top],
                customdata=[[n, a.trades, a.win_rate] for n, a in top],
                hovertemplate=(
                    "%{customdata[0]}<br>$%{x:,.2f} over %{customdata[1]} trades, "
                    "%{customdata[2]:.0%} won<extra></extra>"
                ),
            ),
            layout=layout,
        )
        fig.update_layout(
            xaxis_title="PnL (USD, after fees)",
            height=max(260, 28 * len(top) + 80),
            yaxis_type="category",
        )
        figs["leaders"] = fig

    if metrics.by_close_reason:
        reasons = list(metrics.by_close_reason.items())
        fig = go.Figure(
            go.Bar(
                x=[r for r, _ in reasons],
                y=[n for _, n in reasons],
                marker_color="#3e7bfa",
                hovertemplate="%{x}: %{y} trades<extra></extra>",
            ),
            layout=layout,
        )
        fig.update_layout(yaxis_title="trades", height=300, xaxis_type="category")
        figs["reasons"] = fig
    return figs


def write_html_report(
    path: str | os.PathLike[str],
    metrics: Metrics,
    trades: Sequence[TradeRecord],
    equity: Sequence[tuple[int, float]],
    *,
    title: str,
    fingerprint: str | None = None,
) -> Path:
    """Write one self-contained HTML file (plotly.js inline, no network needed) and return it.

    Same input, same bytes: the chart ids are fixed, so two reports of one run diff cleanly.
    Raises ReportUnavailableError when plotly is not installed.
    """
    figs = _figures(metrics, equity)
    e = html.escape
    rendered: dict[str, str] = {}
    include_js = True  # plotly.js goes inline once, with the first chart on the page
    for name in ("equity", "drawdown", "leaders", "reasons"):
        fig = figs.get(name)
        if fig is None:
            rendered[name] = "<p class='empty'>Nothing to draw.</p>"
            continue
        rendered[name] = fig.to_html(
            full_html=False,
            include_plotlyjs=include_js,
            div_id=f"chart-{name}",
            config={"displaylogo": False, "responsive": True},
        )
        include_js = False

    cards = "".join(
        f"<div class='card'><div class='k'>{e(k)}</div><div class='v'>{e(v)}</div>"
        f"<div class='m'>{e(meaning)}</div></div>"
        for k, v, meaning in _headline(metrics)
    )
    span = f"{_utc(equity[0][0])} → {_utc(equity[-1][0])} UTC · " if equity else ""
    sub = f"{span}{metrics.trade_count:,} trades"
    if fingerprint is not None:
        sub += f" · trade-list fingerprint (sha256) <code>{e(fingerprint)}</code>"
    reasons = _reason_table(metrics) if metrics.by_close_reason else ""
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(title)}</title>
<style>{_CSS}</style>
</head>
<body>
<h1>{e(title)}</h1>
<p class="sub">{sub}</p>
<section class="cards">{cards}</section>
<h2>Our exits vs the leaders' exits</h2>
<p class="explain">{e(exit_comparison_sentence(metrics))}</p>
<h2>Equity</h2>
{rendered["equity"]}
<h2>Drawdown</h2>
{rendered["drawdown"]}
<h2>Per-leader attribution</h2>
{rendered["leaders"]}
<h2>Why positions were closed</h2>
{rendered["reasons"]}
{reasons}
<h2>Trades</h2>
{_trade_table(trades)}
</body>
</html>
"""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(out)  # a reader never sees half a report
    return out
