"""How fast `record_trade` runs on the embedded default (SQLite file, WAL). Printed, not asserted.

Reproduce: `.venv/bin/python -m pytest tests/store/test_store_throughput.py -q` (the figure is
printed even without `-s`).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tailgate.domain.reasons import ReasonCode
from tailgate.domain.signals import SignalOutcome
from tailgate.store import Store, default_database_url

from .factories import T0, make_leader_position, make_order, make_signal, make_trade

CALLS = 2_000


def test_record_trade_throughput_on_sqlite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = Store.open(default_database_url(tmp_path))
    try:
        work: list[tuple[Any, Any, dict[str, Any]]] = []
        for i in range(CALLS):
            trade = make_trade(i, coin=f"C{i % 50}", time_ms=T0 + i)
            if i % 3 == 0:  # a deferred open with a tracked leader position
                signal = make_signal(
                    trade, SignalOutcome.DEFERRED, ReasonCode.DEFERRED_FOR_CONFIRMATION
                )
                kwargs = {
                    "deferred_due_ms": T0 + i + 900_000,
                    "leader_position": make_leader_position(trade.coin),
                }
            elif i % 3 == 1:  # an accepted open with its order intent
                signal = make_signal(trade)
                kwargs = {"order": make_order(f"cid-{i}")}
            else:  # a rejection
                signal = make_signal(trade, SignalOutcome.REJECTED, ReasonCode.SLIPPAGE_EXCEEDED)
                kwargs = {}
            work.append((trade, signal, kwargs))

        lookups = records = 0.0
        for trade, signal, kwargs in work:  # what ingestion does for each trade
            start = time.perf_counter()
            store.seen_fill_keys(trade.fill_keys)
            middle = time.perf_counter()
            store.record_trade(trade, signal, seen_ms=trade.time_ms, **kwargs)
            records += time.perf_counter() - middle
            lookups += middle - start
        assert store.table_counts()["leader_trades"] == CALLS
    finally:
        store.close()
    with capsys.disabled():
        print(
            f"\n[store] SQLite WAL, {CALLS} trades: record_trade {CALLS / records:,.0f}/s "
            f"({records * 1e6 / CALLS:,.0f} µs), seen_fill_keys {CALLS / lookups:,.0f}/s "
            f"({lookups * 1e6 / CALLS:,.0f} µs)"
        )
