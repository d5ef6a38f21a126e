"""What a finished run amounts to, read back from the store: its closed trades, equity curve,
§B2 metrics and trade fingerprint — the same for the demo, `run` and `backtest`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tailgate.backtest.fingerprint import store_fingerprint
from tailgate.backtest.metrics import Metrics, TradeRecord, compute_metrics
from tailgate.backtest.trades import closed_trades
from tailgate.domain.models import Market
from tailgate.store import Store

__all__ = ["RunResult", "run_result"]


@dataclass(frozen=True, slots=True)
class RunResult:
    trades: list[TradeRecord]
    equity: list[tuple[int, float]]
    metrics: Metrics
    fingerprint: str


def run_result(
    store: Store, account: str, starting_balance: float, markets: Mapping[str, Market]
) -> RunResult:
    trades = closed_trades(store, account)
    equity = store.load_equity(account)
    return RunResult(
        trades=trades,
        equity=equity,
        metrics=compute_metrics(trades, equity, starting_balance),
        fingerprint=store_fingerprint(store, markets, account),
    )
