"""The persisted deferred queue and the final outcome of each leader trade."""

from __future__ import annotations

import pytest

from tailgate.domain.reasons import ReasonCode
from tailgate.domain.signals import SignalOutcome
from tailgate.store import DeferredNotWaitingError, Store
from tailgate.store.records import OrderState

from .factories import T0, make_leader_position, make_order, make_signal, make_trade

DELAY_MS = 15 * 60_000


def _defer(store: Store, order_id: int, *, time_ms: int = T0) -> tuple[int, int]:
    trade = make_trade(order_id, time_ms=time_ms)
    signal = make_signal(
        trade,
        SignalOutcome.DEFERRED,
        ReasonCode.DEFERRED_FOR_CONFIRMATION,
        defer_until_ms=time_ms + DELAY_MS,
    )
    recorded = store.record_trade(
        trade, signal, seen_ms=time_ms, deferred_due_ms=time_ms + DELAY_MS
    )
    assert recorded.deferred_id is not None
    return recorded.deferred_id, recorded.trade_id


def test_pending_deferred_come_back_soonest_first_with_their_trade(store: Store) -> None:
    late, _ = _defer(store, 1, time_ms=T0 + 60_000)
    early, early_trade = _defer(store, 2, time_ms=T0)
    pending = store.load_pending_deferred()
    assert [d.id for d in pending] == [early, late]
    first = pending[0]
    assert first.due_ms == T0 + DELAY_MS
    assert first.leader_trade_id == early_trade
    assert first.trade.key == make_trade(2).key
    assert first.trade.price == make_trade(2).price
    assert first.trade.fill_keys == ()
    assert store.load_signals(leader_trade_id=early_trade)[0].outcome == "deferred"


def test_resolve_deferred_accepts_with_an_order_once(store: Store) -> None:
    deferred_id, trade_id = _defer(store, 1)
    order = make_order("cid-deferred-1")
    accepted = make_signal(make_trade(1))
    signal_id, order_id = store.resolve_deferred(
        deferred_id, accepted, evaluated_ms=T0 + DELAY_MS, order=order
    )
    assert order.id == order_id is not None and order.signal_id == signal_id
    assert store.load_pending_deferred() == []
    signals = store.load_signals(leader_trade_id=trade_id)
    assert (signals[0].id, signals[0].outcome) == (signal_id, "accepted")
    assert [s.outcome for s in signals] == ["accepted", "deferred"]
    assert signals[0].evaluated_ms == T0 + DELAY_MS

    with pytest.raises(DeferredNotWaitingError, match="'done'"):
        store.resolve_deferred(deferred_id, accepted, evaluated_ms=T0 + DELAY_MS + 1)
    with pytest.raises(DeferredNotWaitingError, match="does not exist"):
        store.resolve_deferred(deferred_id + 100, accepted, evaluated_ms=T0)
    assert len(store.load_signals(leader_trade_id=trade_id)) == 2
    assert len(store.load_orders([OrderState.PENDING])) == 1


def test_resolve_deferred_with_leader_position_closed(store: Store) -> None:
    trade = make_trade(1)
    recorded = store.record_trade(
        trade,
        make_signal(trade, SignalOutcome.DEFERRED, ReasonCode.DEFERRED_FOR_CONFIRMATION),
        seen_ms=T0,
        deferred_due_ms=T0 + DELAY_MS,
        leader_position=make_leader_position(),
    )
    assert recorded.deferred_id is not None
    rejected = make_signal(trade, SignalOutcome.REJECTED, ReasonCode.LEADER_POSITION_CLOSED)
    _, order_id = store.resolve_deferred(
        recorded.deferred_id, rejected, evaluated_ms=T0 + DELAY_MS, leader_position_closed=True
    )
    assert order_id is None
    assert store.load_leader_positions() == []


def test_final_outcomes_count_each_trade_once_by_its_latest_signal(store: Store) -> None:
    deferred_then_accepted, _ = _defer(store, 1)
    deferred_then_rejected, _ = _defer(store, 2)
    _defer(store, 3)  # still waiting
    direct = make_trade(4)
    store.record_trade(
        direct,
        make_signal(direct, SignalOutcome.REJECTED, ReasonCode.SLIPPAGE_EXCEEDED),
        seen_ms=T0,
    )
    store.resolve_deferred(
        deferred_then_accepted, make_signal(make_trade(1)), evaluated_ms=T0 + DELAY_MS
    )
    store.resolve_deferred(
        deferred_then_rejected,
        make_signal(make_trade(2), SignalOutcome.REJECTED, ReasonCode.SLIPPAGE_EXCEEDED),
        evaluated_ms=T0 + DELAY_MS,
    )
    assert store.final_signal_outcomes() == [
        ("accepted", "SIZED", 1),
        ("deferred", "DEFERRED_FOR_CONFIRMATION", 1),
        ("rejected", "SLIPPAGE_EXCEEDED", 2),
    ]
