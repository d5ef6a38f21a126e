"""The HTML report opens in a real browser, offline: its charts are drawn (plotly's SVG is in
the live DOM). Runs where Chromium is installed (`apt-get install chromium`), skips elsewhere."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tailgate.backtest.metrics import TradeRecord, compute_metrics
from tailgate.backtest.report import write_html_report
from tailgate.domain.models import Side

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium on this machine")

DAY = 86_400_000


def test_the_report_renders_its_charts_offline_in_chromium(tmp_path):
    pytest.importorskip("plotly")
    trades = [
        TradeRecord(
            "BTC",
            Side.LONG,
            "0xL",
            i * DAY,
            i * DAY + DAY // 2,
            100.0,
            101.0 if i % 3 else 98.0,
            1.0,
            10.0 if i % 3 else -20.0,
            0.1,
            "LEADER_CLOSED",
        )
        for i in range(1, 20)
    ]
    equity = [(i * DAY, 100_000.0 + 50 * i * (-1) ** i) for i in range(1, 21)]
    metrics = compute_metrics(trades, equity, 100_000.0)
    report = tmp_path / "report.html"
    write_html_report(report, metrics, trades, equity, title="browser check", fingerprint="ab" * 32)
    dom = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--virtual-time-budget=5000",
            "--dump-dom",
            report.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    assert "browser check" in dom
    assert dom.count('class="main-svg"') >= 3  # equity, drawdown, attribution… drawn by JS
