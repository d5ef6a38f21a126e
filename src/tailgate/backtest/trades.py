"""Closed positions from the store as the trade list the metrics and reports read (§B2).

A closed position no longer carries its size, so the size entered is summed from its entry
fills; the leader's exit is the first Close of that leader in that coin after our entry —
what holding until the leader closed would have got.
"""

from __future__ import annotations

import bisect
from collections import defaultdict

from tailgate.backtest.metrics import TradeRecord
from tailgate.domain.models import Action
from tailgate.store import Store
from tailgate.store.records import OrderPurpose, OrderState, PositionStatus

__all__ = ["closed_trades"]


def closed_trades(store: Store, account: str) -> list[TradeRecord]:
    entered: dict[int, float] = defaultdict(float)
    for order in store.load_orders([OrderState.FILLED, OrderState.PARTIAL]):
        if order.purpose is OrderPurpose.ENTRY and order.position_id is not None:
            entered[order.position_id] += order.filled_size
    closes: dict[tuple[str, str], list[tuple[int, float]]] = defaultdict(list)
    for trade in store.load_leader_trades():
        if trade.action is Action.CLOSE:
            closes[(trade.leader, trade.coin)].append((trade.time_ms, trade.price))
    for series in closes.values():
        series.sort()
    out: list[TradeRecord] = []
    for p in store.load_positions(status=PositionStatus.CLOSED, account=account):
        if p.id is None or p.closed_ms is None or p.exit_price is None:
            continue
        leader_exit: tuple[int, float] | None = None
        series = closes.get((p.leader or "", p.coin), [])
        i = bisect.bisect_left(series, (p.opened_ms, float("-inf")))
        if i < len(series):
            leader_exit = series[i]
        out.append(
            TradeRecord(
                coin=p.coin,
                side=p.side,
                leader=p.leader,
                opened_ms=p.opened_ms,
                closed_ms=p.closed_ms,
                entry_price=p.entry_price,
                exit_price=p.exit_price,
                size=entered.get(p.id, 0.0),
                pnl=p.realized_pnl,
                fees=p.fees_paid,
                close_reason=p.close_reason or "",
                leader_exit_price=leader_exit[1] if leader_exit else None,
                leader_exit_ms=leader_exit[0] if leader_exit else None,
            )
        )
    out.sort(key=lambda t: (t.closed_ms, t.opened_ms))
    return out
