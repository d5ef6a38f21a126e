"""SPEC §B3 reports: JSON that never fails to encode, an offline HTML file, a readable summary."""

from __future__ import annotations

import dataclasses
import io
import json
import math
import re
import sys
from pathlib import Path

import pytest
from rich.console import Console

from tailgate.backtest.metrics import Metrics, TradeRecord, compute_metrics
from tailgate.backtest.report import (
    MAX_PLOT_POINTS,
    MAX_TABLE_TRADES,
    ReportUnavailableError,
    downsample,
    exit_comparison_sentence,
    metrics_to_json,
    render_terminal,
    write_html_report,
)
from tailgate.domain.models import MS_PER_DAY, MS_PER_HOUR, Side

DAY0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC
ALICE = "0xa11ce00000000000000000000000000000000001"
HOSTILE = "<script>alert(1)</script>"
FINGERPRINT = "3f5a" * 16
EXTERNAL_SCRIPT = re.compile(r"<script[^>]*\bsrc\s*=\s*[\"']?\s*(https?:)?//", re.IGNORECASE)


def make_trade(
    i: int,
    pnl: float,
    *,
    leader: str | None = ALICE,
    reason: str = "LEADER_CLOSED",
    leader_exit: float | None = 104.0,
) -> TradeRecord:
    opened = DAY0 + i * MS_PER_HOUR
    side = Side.LONG if i % 3 else Side.SHORT
    return TradeRecord(
        coin="ETH" if i % 2 else "BTC",
        side=side,
        leader=leader,
        opened_ms=opened,
        closed_ms=opened + 5 * MS_PER_HOUR,
        entry_price=100.0,
        exit_price=100.0 + pnl * side.sign,
        size=1.0,
        pnl=pnl,
        fees=0.1,
        close_reason=reason,
        leader_exit_price=leader_exit,
        leader_exit_ms=None if leader_exit is None else opened + 4 * MS_PER_HOUR,
    )


@pytest.fixture
def run() -> tuple[Metrics, list[TradeRecord], list[tuple[int, float]]]:
    """+50, −25, +25 over four days; equity 100 → 120 → 90 → 130 (×100)."""
    trades = [
        make_trade(0, 50.0),
        make_trade(1, -25.0, leader=HOSTILE, reason="STOP_LOSS", leader_exit=None),
        make_trade(2, 25.0, leader="0xb0b", reason="TRAILING_STOP"),
    ]
    equity = [(DAY0 + d * MS_PER_DAY, v) for d, v in enumerate((10_000.0, 12_000, 9_000, 13_000))]
    return compute_metrics(trades, equity, starting_balance=10_000), trades, equity


# ---------------------------------------------------------------- JSON


def test_json_round_trips_and_keeps_stable_keys(run) -> None:
    metrics, trades, equity = run
    data = metrics_to_json(metrics, trades, equity)
    back = json.loads(json.dumps(data, allow_nan=False))
    assert back == data
    assert list(back) == [
        "schema_version",
        "metrics",
        "by_leader",
        "by_close_reason",
        "trades",
        "equity",
    ]
    m = back["metrics"]
    assert m["total_return"] == pytest.approx(0.30)
    assert m["max_drawdown"] == pytest.approx(0.25)
    assert m["profit_factor"] == pytest.approx(3.0)
    assert m["trade_count"] == 3
    assert back["by_leader"][HOSTILE] == {"trades": 1, "pnl": -25.0, "win_rate": 0.0}
    assert back["trades"][0]["side"] == "short"
    assert back["trades"][0]["leader_exit_pnl"] == pytest.approx(-4.1)  # short 100 → 104, fee .1
    assert back["trades"][1]["leader_exit_pnl"] is None
    assert back["equity"][-1] == [DAY0 + 3 * MS_PER_DAY, 13_000.0]


def test_json_encodes_infinite_and_nan_as_null(run) -> None:
    metrics, trades, equity = run
    odd = dataclasses.replace(metrics, profit_factor=math.inf, sharpe=math.nan, exit_edge=-math.inf)
    data = metrics_to_json(odd, trades, equity)
    text = json.dumps(data, allow_nan=False)  # would raise on inf / NaN
    m = json.loads(text)["metrics"]
    assert m["profit_factor"] is None and m["sharpe"] is None and m["exit_edge"] is None


def test_json_of_an_empty_run() -> None:
    metrics = compute_metrics([], [], starting_balance=1_000)
    data = json.loads(json.dumps(metrics_to_json(metrics, [], []), allow_nan=False))
    assert data["trades"] == [] and data["equity"] == [] and data["by_leader"] == {}
    assert data["metrics"]["profit_factor"] == 0.0


# ---------------------------------------------------------------- terminal


def test_terminal_summary_shows_the_headline_figures(run) -> None:
    metrics, trades, _ = run
    out = io.StringIO()
    render_terminal(Console(file=out, width=140), metrics, trades)
    text = out.getvalue()
    for figure in ("+30.00%", "25.00%", "66.7%", "3.00", "$50.00", "$0.30", "STOP_LOSS"):
        assert figure in text, figure
    assert "Our exits vs the leaders' exits" in text
    assert "<scrip…ipt>" in text  # long names are shortened, and printed literally


def test_terminal_prints_markup_in_names_literally() -> None:
    trades = [make_trade(0, 5.0, leader="[b]x[/b]", reason="[blink]")]
    metrics = compute_metrics(trades, [], starting_balance=1_000)
    out = io.StringIO()
    render_terminal(Console(file=out, width=140), metrics, trades)
    assert "[b]x[/b]" in out.getvalue()
    assert "[blink]" in out.getvalue()


def test_terminal_summary_of_an_empty_run() -> None:
    metrics = compute_metrics([], [], starting_balance=1_000)
    out = io.StringIO()
    render_terminal(Console(file=out, width=140), metrics, [])
    assert "No trade was closed." in out.getvalue()
    assert "nothing to compare" in out.getvalue()


def test_exit_sentence_says_which_exits_did_better(run) -> None:
    metrics, _, _ = run
    # trade 0: short, we made 50; leader exit 104 → -4.1; trade 2: long, 25 vs 3.9
    assert metrics.trades_with_leader_exit == 2
    sentence = exit_comparison_sentence(metrics)
    assert "On the 2 trades" in sentence and "-$0.20" in sentence and "$75.00" in sentence
    assert sentence.endswith("$75.20 better.")
    worse = dataclasses.replace(metrics, exit_edge=-12.5)
    assert exit_comparison_sentence(worse).endswith("$12.50 worse.")


# ---------------------------------------------------------------- HTML


def test_html_report_is_one_offline_file(run, tmp_path: Path) -> None:
    metrics, trades, equity = run
    path = write_html_report(
        tmp_path / "out" / "report.html",
        metrics,
        trades,
        equity,
        title="Backtest <2024>",
        fingerprint=FINGERPRINT,
    )
    page = path.read_text(encoding="utf-8")
    assert path == tmp_path / "out" / "report.html"
    assert not EXTERNAL_SCRIPT.search(page), "the report must not load scripts from the network"
    assert page.count("* plotly.js v") == 1  # plotly.js inline, exactly once
    for chart in ("equity", "drawdown", "leaders", "reasons"):
        assert f'id="chart-{chart}"' in page
    assert FINGERPRINT in page
    assert "Backtest &lt;2024&gt;" in page
    assert "+30.00%" in page and "25.00%" in page


def test_html_trade_table_escapes_hostile_leader_names(run, tmp_path: Path) -> None:
    metrics, trades, equity = run
    page = write_html_report(tmp_path / "r.html", metrics, trades, equity, title="t").read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert HOSTILE not in page  # neither in the table nor in the charts' JSON


def test_html_report_is_byte_for_byte_reproducible(run, tmp_path: Path) -> None:
    metrics, trades, equity = run
    a = write_html_report(tmp_path / "a.html", metrics, trades, equity, title="t")
    b = write_html_report(tmp_path / "b.html", metrics, trades, equity, title="t")
    assert a.read_bytes() == b.read_bytes()


def test_html_report_of_an_empty_run(tmp_path: Path) -> None:
    metrics = compute_metrics([], [], starting_balance=1_000)
    page = write_html_report(tmp_path / "e.html", metrics, [], [], title="empty").read_text()
    assert "Nothing to draw." in page
    assert "FINGERPRINT" not in page and "fingerprint" not in page


def test_html_report_without_plotly_says_how_to_install_it(
    run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    metrics, trades, equity = run
    for mod in ("plotly", "plotly.graph_objects"):
        monkeypatch.setitem(sys.modules, mod, None)  # makes `import plotly...` fail
    with pytest.raises(ReportUnavailableError, match=r"pip install 'tailgate\[report\]'"):
        write_html_report(tmp_path / "r.html", metrics, trades, equity, title="t")
    assert not (tmp_path / "r.html").exists()


def test_large_run_is_downsampled_and_the_table_capped(tmp_path: Path) -> None:
    trades = [make_trade(i, (-1) ** i * (i % 7), leader=f"0x{i % 40:040x}") for i in range(6_000)]
    equity = [(DAY0 + i * MS_PER_HOUR, 10_000.0 + (i % 500)) for i in range(20_000)]
    metrics = compute_metrics(trades, equity, starting_balance=10_000)
    page = write_html_report(tmp_path / "big.html", metrics, trades, equity, title="big")
    text = page.read_text()
    assert f"Showing the last {MAX_TABLE_TRADES:,} of 6,000 trades" in text
    # the shown trades + the trade table's header + the reason table's header and one reason
    assert text.count("<tr>") == MAX_TABLE_TRADES + 3
    assert page.stat().st_size < 8_000_000


# ---------------------------------------------------------------- downsampling


def test_downsample_keeps_short_curves_untouched() -> None:
    curve = [(i, float(i)) for i in range(100)]
    assert downsample(curve) == curve


def test_downsample_keeps_ends_peaks_and_troughs() -> None:
    curve = [(i, 100.0 + (i % 97)) for i in range(50_000)]
    curve[31_337] = (31_337, -5.0)  # a one-point crash must survive
    curve[12_345] = (12_345, 999.0)
    out = downsample(curve)
    assert len(out) <= MAX_PLOT_POINTS
    assert out[0] == curve[0] and out[-1] == curve[-1]
    assert (31_337, -5.0) in out and (12_345, 999.0) in out
    assert [t for t, _ in out] == sorted(t for t, _ in out)
