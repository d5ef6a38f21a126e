"""Ingestion: durable fill dedupe, record_trade atomicity, leader positions and trades."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest
from sqlalchemy import event

from tailgate.domain.models import Action, Side
from tailgate.domain.reasons import ReasonCode
from tailgate.domain.signals import SignalOutcome
from tailgate.store import DuplicateOrderError, DuplicateTradeError, Store
from tailgate.store.records import OrderState

from .factories import (
    LEADER,
    T0,
    make_leader_position,
    make_order,
    make_signal,
    make_trade,
)


def test_record_trade_writes_trade_fills_signal_position_and_order(store: Store) -> None:
    trade = make_trade(7)
    order = make_order("cid-7")
    recorded = store.record_trade(
        trade,
        make_signal(trade),
        seen_ms=T0 + 5,
        leader_position=make_leader_position(),
        order=order,
    )
    assert recorded.deferred_id is None
    assert order.id == recorded.order_id is not None
    assert order.signal_id == recorded.signal_id
    assert store.seen_fill_keys([*trade.fill_keys, "other"]) == set(trade.fill_keys)
    assert store.load_leader_trades() == [replace(trade, fill_keys=())]
    assert store.load_leader_positions() == [make_leader_position()]
    stored = store.order_by_client_id("cid-7")
    assert stored == order
    signals = store.load_signals(leader_trade_id=recorded.trade_id)
    assert [s.id for s in signals] == [recorded.signal_id]
    assert signals[0].evaluated_ms == T0 + 5


def test_duplicate_fill_key_writes_nothing(store: Store) -> None:
    first = make_trade(1, fill_keys=("k1", "k2"))
    store.record_trade(first, make_signal(first), seen_ms=T0)
    before = store.table_counts()

    second = make_trade(2, coin="ETH", fill_keys=("k3", "k2"))
    order = make_order("cid-2")
    with pytest.raises(DuplicateTradeError) as caught:
        store.record_trade(
            second,
            make_signal(second, SignalOutcome.DEFERRED, ReasonCode.DEFERRED_FOR_CONFIRMATION),
            seen_ms=T0 + 1,
            deferred_due_ms=T0 + 900_000,
            leader_position=make_leader_position("ETH"),
            order=order,
        )
    assert caught.value.keys == ("k2",)
    assert store.table_counts() == before  # no trade, signal, deferred, position, order
    assert store.seen_fill_keys(["k3"]) == set()
    assert store.load_pending_deferred() == []
    assert store.load_orders() == []
    assert order.id is None and order.signal_id is None  # the caller's record is untouched


def test_duplicate_trade_key_is_refused_even_without_fill_keys(store: Store) -> None:
    trade = make_trade(3, fill_keys=())
    store.record_trade(trade, make_signal(trade), seen_ms=T0)
    with pytest.raises(DuplicateTradeError) as caught:
        store.record_trade(trade, make_signal(trade), seen_ms=T0 + 1)
    assert caught.value.keys == (trade.key,)
    assert store.table_counts()["signals"] == 1


def test_duplicate_client_order_id_in_record_trade(store: Store) -> None:
    store.insert_order(make_order("cid-x"))
    trade = make_trade(4)
    with pytest.raises(DuplicateOrderError):
        store.record_trade(trade, make_signal(trade), seen_ms=T0, order=make_order("cid-x"))
    assert store.table_counts()["leader_trades"] == 0
    assert store.seen_fill_keys(trade.fill_keys) == set()


def test_repeated_fill_key_inside_one_trade_is_not_a_duplicate(store: Store) -> None:
    trade = make_trade(5, fill_keys=("k", "k"))
    store.record_trade(trade, make_signal(trade), seen_ms=T0)
    assert store.seen_fill_keys(["k"]) == {"k"}


def test_concurrent_records_of_one_trade_write_it_once(store: Store) -> None:
    trade = make_trade(6)
    outcomes: list[str] = []

    def record() -> None:
        try:
            store.record_trade(trade, make_signal(trade), seen_ms=T0)
            outcomes.append("recorded")
        except DuplicateTradeError:
            outcomes.append("duplicate")

    threads = [threading.Thread(target=record) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["duplicate"] * 3 + ["recorded"]
    assert store.table_counts()["leader_trades"] == 1


def test_seen_fill_keys_handles_more_keys_than_one_in_list(store: Store) -> None:
    keys = tuple(f"{LEADER}:{i}" for i in range(1_234))
    trade = make_trade(8, fill_keys=keys)
    store.record_trade(trade, make_signal(trade), seen_ms=T0)
    probe = [*keys[::3], "absent-1", "absent-2"]
    assert store.seen_fill_keys(probe) == set(keys[::3])
    assert store.seen_fill_keys([]) == set()


def test_rejected_fill_is_recorded_once_and_counts_as_seen(store: Store) -> None:
    args = {
        "leader": LEADER,
        "reason": ReasonCode.INVALID_PRICE,
        "detail": "price -1",
        "excerpt": '{"px": "-1"}',
        "time_ms": T0,
        "seen_ms": T0 + 1,
    }
    assert store.record_rejected_fill(dedupe_key="bad-1", **args) is True
    assert store.record_rejected_fill(dedupe_key="bad-1", **args) is False
    assert store.record_rejected_fill(dedupe_key=None, **args) is True  # no key: kept each time
    assert store.record_rejected_fill(dedupe_key=None, **args) is True
    assert store.table_counts()["rejected_fills"] == 3
    assert store.seen_fill_keys(["bad-1"]) == {"bad-1"}
    trade = make_trade(9, fill_keys=("bad-1",))
    with pytest.raises(DuplicateTradeError):
        store.record_trade(trade, make_signal(trade), seen_ms=T0)


def test_leader_position_upserted_then_closed(store: Store) -> None:
    open_ = make_trade(10)
    store.record_trade(
        open_, make_signal(open_), seen_ms=T0, leader_position=make_leader_position(size=2.0)
    )
    add = make_trade(11, action=Action.ADD, time_ms=T0 + 60_000)
    grown = make_leader_position(size=3.0)
    grown.updated_ms = T0 + 60_000
    store.record_trade(add, make_signal(add), seen_ms=T0 + 60_000, leader_position=grown)
    assert store.load_leader_positions() == [grown]

    close = make_trade(12, action=Action.CLOSE, time_ms=T0 + 120_000)
    store.record_trade(
        close,
        make_signal(close, SignalOutcome.EXIT, ReasonCode.EXIT_ACTION),
        seen_ms=T0 + 120_000,
        close_leader_position=True,
    )
    assert store.load_leader_positions() == []


def test_record_trade_refuses_both_position_changes(store: Store) -> None:
    trade = make_trade(13)
    with pytest.raises(ValueError, match="not both"):
        store.record_trade(
            trade,
            make_signal(trade),
            seen_ms=T0,
            leader_position=make_leader_position(),
            close_leader_position=True,
        )


def test_load_leader_trades_filters_by_leader_and_time(store: Store) -> None:
    trades = [
        make_trade(20, time_ms=T0),
        make_trade(21, time_ms=T0 + 10),
        make_trade(22, leader="0xother", time_ms=T0 + 20),
    ]
    for t in trades:
        store.record_trade(t, make_signal(t), seen_ms=T0 + 30)
    loaded = store.load_leader_trades()
    assert [t.order_id for t in loaded] == [20, 21, 22]
    assert all(t.fill_keys == () for t in loaded)
    assert loaded[0].side is Side.LONG and loaded[0].action is Action.OPEN
    assert [t.order_id for t in store.load_leader_trades(leader=LEADER)] == [20, 21]
    assert [t.order_id for t in store.load_leader_trades(since_ms=T0 + 10)] == [21, 22]
    assert [t.key for t in store.load_leader_trades(LEADER, T0 + 5)] == [trades[1].key]


def test_order_written_by_record_trade_is_pending(store: Store) -> None:
    trade = make_trade(30)
    store.record_trade(trade, make_signal(trade), seen_ms=T0, order=make_order("cid-30"))
    assert [o.state for o in store.load_orders([OrderState.PENDING])] == [OrderState.PENDING]


def test_record_trade_sends_one_statement_per_table(store: Store) -> None:
    trade = make_trade(40, fill_keys=("a", "b", "c"))
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement.split()[0] + " " + statement.split()[2])

    event.listen(store.engine, "before_cursor_execute", count)
    try:
        store.record_trade(
            trade,
            make_signal(trade, SignalOutcome.DEFERRED, ReasonCode.DEFERRED_FOR_CONFIRMATION),
            seen_ms=T0,
            deferred_due_ms=T0 + 900_000,
            leader_position=make_leader_position(),
            order=make_order("cid-40"),
        )
    finally:
        event.remove(store.engine, "before_cursor_execute", count)
    assert statements == [
        "INSERT leader_trades",
        "INSERT leader_fills_seen",  # the three fill keys in one multi-row INSERT
        "INSERT signals",
        "INSERT deferred_signals",
        "INSERT leader_positions",
        "INSERT orders",
    ]
