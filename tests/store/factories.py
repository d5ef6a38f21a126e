"""Small builders of domain objects and records for the store tests."""

from __future__ import annotations

from tailgate.domain.models import Action, LeaderTrade, OrderType, Side
from tailgate.domain.reasons import ReasonCode
from tailgate.domain.signals import STEP_NAMES, Signal, SignalOutcome, StepDecision
from tailgate.store.records import (
    FillRecord,
    LeaderPositionRecord,
    OrderPurpose,
    OrderRecord,
    OrderState,
    PositionRecord,
)

T0 = 1_700_000_000_000  # ms
LEADER = "0xleader"
ACCOUNT = "paper"


def make_trade(
    order_id: int = 1,
    *,
    leader: str = LEADER,
    coin: str = "BTC",
    action: Action = Action.OPEN,
    fill_keys: tuple[str, ...] | None = None,
    time_ms: int = T0,
    size: float = 2.0,
    price: float = 60_000.0,
) -> LeaderTrade:
    if fill_keys is None:
        fill_keys = (f"{leader}:{order_id}-a", f"{leader}:{order_id}-b")
    end = size if action in (Action.OPEN, Action.ADD) else 0.0
    return LeaderTrade(
        leader=leader,
        coin=coin,
        side=Side.LONG,
        action=action,
        size=size,
        price=price,
        time_ms=time_ms,
        order_id=order_id,
        start_position=0.0 if action is Action.OPEN else size,
        end_position=end,
        fill_keys=fill_keys,
        closed_pnl=12.5 if action is Action.CLOSE else 0.0,
    )


def make_signal(
    trade: LeaderTrade,
    outcome: SignalOutcome = SignalOutcome.ACCEPTED,
    reason: ReasonCode = ReasonCode.SIZED,
    *,
    defer_until_ms: int | None = None,
) -> Signal:
    steps = [
        StepDecision(1, STEP_NAMES[1], True, ReasonCode.OPEN),
        StepDecision(2, STEP_NAMES[2], True, ReasonCode.TRADE_VALUE_OK, "value 120000 ≥ 50000"),
    ]
    if outcome is SignalOutcome.DEFERRED:
        steps.append(StepDecision(4, STEP_NAMES[4], False, reason, "wait 15 min"))
    elif outcome is SignalOutcome.REJECTED:
        steps.append(StepDecision(5, STEP_NAMES[5], False, reason, "moved 3.1 %"))
    else:
        steps.append(StepDecision(9, STEP_NAMES[9], True, reason, "size $5,000"))
    accepted = outcome is SignalOutcome.ACCEPTED
    return Signal(
        trade=trade,
        outcome=outcome,
        reason=reason,
        steps=steps,
        order_type=OrderType.MARKET if accepted else None,
        limit_price=60_300.0 if accepted else None,
        size_usd=5_000.0 if accepted else 0.0,
        defer_until_ms=defer_until_ms,
        actionable_ms=T0 + 1_000 if accepted else None,
    )


def make_order(
    client_order_id: str = "cid-1",
    *,
    state: OrderState = OrderState.PENDING,
    purpose: OrderPurpose = OrderPurpose.ENTRY,
    leader: str | None = LEADER,
    account: str = ACCOUNT,
) -> OrderRecord:
    return OrderRecord(
        client_order_id=client_order_id,
        account=account,
        coin="BTC",
        is_buy=True,
        size=0.083,
        limit_price=60_300.0,
        order_type=OrderType.MARKET,
        purpose=purpose,
        state=state,
        created_ms=T0,
        updated_ms=T0,
        leader=leader,
        price_source="book",
        reason=None,
    )


def make_position(*, account: str = ACCOUNT, leader: str | None = LEADER) -> PositionRecord:
    return PositionRecord(
        account=account,
        coin="BTC",
        side=Side.LONG,
        size=0.083,
        entry_price=60_100.0,
        opened_ms=T0,
        leader=leader,
        leader_trade_id=None,
        fees_paid=1.5,
        stop_price=57_095.0,
        trailing_stop=55_292.0,
        extreme_price=60_100.0,
    )


def make_fill(fill_id: str, *, price: float = 60_100.0, size: float = 0.083) -> FillRecord:
    return FillRecord(fill_id=fill_id, price=price, size=size, fee=1.5, time_ms=T0 + 10)


def make_leader_position(coin: str = "BTC", *, size: float = 2.0) -> LeaderPositionRecord:
    return LeaderPositionRecord(
        leader=LEADER, coin=coin, side=Side.LONG, size=size, opened_ms=T0, updated_ms=T0
    )
