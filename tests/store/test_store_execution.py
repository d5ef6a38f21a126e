"""Orders, fills, positions and cash (SPEC §E1)."""

from __future__ import annotations

import pytest

from tailgate.domain.reasons import ReasonCode
from tailgate.store import DuplicateOrderError, Store, StoreError, UnknownAccountError
from tailgate.store.records import OrderPurpose, OrderState, PositionStatus

from .factories import ACCOUNT, T0, make_fill, make_order, make_position

CASH = 100_000.0


def test_insert_and_update_order_round_trip(store: Store) -> None:
    order = make_order("cid-1")
    order_id = store.insert_order(order)
    assert order.id == order_id
    assert store.order_by_client_id("cid-1") == order
    assert store.order_by_client_id("missing") is None

    order.state = OrderState.SUBMITTED
    order.venue_order_id = "v-77"
    order.updated_ms = T0 + 50
    store.update_order(order)
    assert store.load_orders([OrderState.SUBMITTED]) == [order]
    assert store.load_orders([OrderState.PENDING]) == []
    assert store.load_orders() == [order]


def test_client_order_id_is_unique(store: Store) -> None:
    store.insert_order(make_order("cid-1"))
    again = make_order("cid-1")
    with pytest.raises(DuplicateOrderError) as caught:
        store.insert_order(again)
    assert caught.value.client_order_id == "cid-1"
    assert again.id is None
    assert len(store.load_orders()) == 1


def test_update_of_unknown_order_fails(store: Store) -> None:
    order = make_order()
    with pytest.raises(ValueError, match="no id"):
        store.update_order(order)
    order.id = 12345
    with pytest.raises(StoreError, match="does not exist"):
        store.update_order(order)


def test_order_outcome_moves_cash_and_position_together(store: Store) -> None:
    assert store.ensure_account(ACCOUNT, CASH, T0) == CASH
    order = make_order("cid-1")
    store.insert_order(order)
    order.state = OrderState.FILLED
    order.filled_size, order.avg_price, order.fee = 0.083, 60_100.0, 3.0
    fills = [make_fill("f1", size=0.05), make_fill("f2", size=0.033)]
    position = make_position()
    notional = 0.083 * 60_100.0

    position_id = store.record_order_outcome(order, fills, position, cash_delta=-(notional + 3))

    assert position_id is not None and position.id == position_id == order.position_id
    assert store.get_cash(ACCOUNT) == pytest.approx(CASH - notional - 3)
    assert store.load_positions(PositionStatus.OPEN, ACCOUNT) == [position]
    assert store.order_by_client_id("cid-1") == order
    stored_fills = store.load_fills(order.id)
    assert [f.fill_id for f in stored_fills] == ["f1", "f2"]
    assert all(f.order_id == order.id for f in stored_fills)
    assert [f.id for f in fills] == [f.id for f in stored_fills]


def test_order_outcome_is_idempotent_on_fill_ids(store: Store) -> None:
    store.ensure_account(ACCOUNT, CASH, T0)
    order = make_order("cid-1")
    store.insert_order(order)
    order.state = OrderState.FILLED
    position = make_position()
    first = store.record_order_outcome(order, [make_fill("f1")], position, cash_delta=-5_000.0)

    # the same outcome again (a restart replaying it): nothing moves twice
    replayed_position = make_position()
    again = store.record_order_outcome(
        order, [make_fill("f1")], replayed_position, cash_delta=-5_000.0
    )
    assert again == first
    assert replayed_position.id is None
    assert store.get_cash(ACCOUNT) == pytest.approx(CASH - 5_000.0)
    assert len(store.load_positions()) == 1
    assert len(store.load_fills()) == 1

    # a later fill of the same order: the known one is skipped, the new one counts
    position.size = 0.1
    store.record_order_outcome(
        order, [make_fill("f1"), make_fill("f2")], position, cash_delta=-1_000.0
    )
    assert store.get_cash(ACCOUNT) == pytest.approx(CASH - 6_000.0)
    assert [f.fill_id for f in store.load_fills(order.id)] == ["f1", "f2"]
    assert store.load_positions()[0].size == pytest.approx(0.1)


def test_order_outcome_without_fills_updates_the_order(store: Store) -> None:
    order = make_order("cid-1")
    store.insert_order(order)
    order.state = OrderState.REJECTED
    order.reason = ReasonCode.ORDER_REJECTED.value
    assert store.record_order_outcome(order, [], None) is None
    assert store.load_orders([OrderState.REJECTED]) == [order]


def test_order_outcome_for_unknown_account_writes_nothing(store: Store) -> None:
    order = make_order("cid-1", account="nobody")
    store.insert_order(order)
    order.state = OrderState.FILLED
    with pytest.raises(UnknownAccountError):
        store.record_order_outcome(order, [make_fill("f1")], make_position(), cash_delta=-1.0)
    assert store.load_fills() == []
    assert store.load_positions() == []
    assert store.load_orders([OrderState.PENDING]) != []


def test_exit_outcome_closes_the_existing_position(store: Store) -> None:
    store.ensure_account(ACCOUNT, CASH, T0)
    position = make_position()
    store.save_position(position)
    exit_order = make_order("cid-exit", purpose=OrderPurpose.EXIT)
    exit_order.position_id = position.id
    store.insert_order(exit_order)
    exit_order.state = OrderState.FILLED
    position.status = PositionStatus.CLOSED
    position.closed_ms, position.exit_price = T0 + 3_600_000, 63_000.0
    position.close_reason = ReasonCode.LEADER_CLOSED.value
    position.realized_pnl = 240.0
    assert (
        store.record_order_outcome(
            exit_order, [make_fill("x1", price=63_000.0)], position, cash_delta=5_229.0
        )
        == position.id
    )
    assert store.load_positions(PositionStatus.OPEN) == []
    assert store.load_positions(PositionStatus.CLOSED) == [position]
    assert store.get_cash(ACCOUNT) == pytest.approx(CASH + 5_229.0)


def test_positions_filter_by_status_and_account(store: Store) -> None:
    a, b = make_position(), make_position(account="other")
    b.status = PositionStatus.CLOSED
    store.save_position(a)
    store.save_position(b)
    assert store.load_positions() == [a, b]
    assert store.load_positions(account="other") == [b]
    assert store.load_positions(PositionStatus.OPEN) == [a]
    a.trailing_stop, a.tiers_taken = 58_000.0, 0b011
    assert store.save_position(a) == a.id
    assert store.load_positions(PositionStatus.OPEN)[0].tiers_taken == 0b011


def test_copied_leaders_are_those_with_filled_entries(store: Store) -> None:
    for cid, leader, state, purpose in [
        ("c1", "0xa", OrderState.FILLED, OrderPurpose.ENTRY),
        ("c2", "0xb", OrderState.PARTIAL, OrderPurpose.ENTRY),
        ("c3", "0xc", OrderState.REJECTED, OrderPurpose.ENTRY),
        ("c4", "0xd", OrderState.FILLED, OrderPurpose.EXIT),
        ("c5", None, OrderState.FILLED, OrderPurpose.ENTRY),
    ]:
        store.insert_order(make_order(cid, state=state, purpose=purpose, leader=leader))
    assert store.copied_leaders() == {"0xa", "0xb"}
