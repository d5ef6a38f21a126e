"""The outcome of the nine-step pipeline (SPEC §C3): a decision per step, with its reason."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from tailgate.domain.models import LeaderTrade, OrderType, PortfolioView
from tailgate.domain.reasons import ReasonCode

__all__ = ["STEP_NAMES", "PipelineContext", "Signal", "SignalOutcome", "StepDecision"]

STEP_NAMES: dict[int, str] = {
    1: "action_filter",
    2: "asset_minimum",
    3: "weight",
    4: "confirmation_delay",
    5: "slippage_gate",
    6: "execution_timing",
    7: "consensus",
    8: "portfolio_limits",
    9: "size",
}


class SignalOutcome(StrEnum):
    ACCEPTED = "accepted"  # an order should be placed
    REJECTED = "rejected"  # a step said no
    DEFERRED = "deferred"  # step 4: wait until `defer_until_ms`, then re-enter at step 4
    EXIT = "exit"  # Reduce / Close: not an entry; feeds the leader-exit logic


@dataclass(frozen=True, slots=True)
class StepDecision:
    step: int
    name: str
    passed: bool
    reason: ReasonCode
    detail: str = ""


@dataclass(frozen=True, slots=True)
class PipelineContext:
    """Everything `evaluate_trade` needs besides the trade and the trader; no I/O behind it.

    `leader_position_open_ms` is when the leader's current position in the coin was opened
    (for step 1's Add window); `leader_position_open` says whether that position is still open
    now (for step 4's re-check). `current_price` is None when no price could be had.
    """

    now_ms: int
    current_price: float | None
    leader_account_value: float
    leader_position_open_ms: int | None
    leader_position_open: bool
    leader_leverage: float
    portfolio: PortfolioView
    consensus_count: int = 0
    reentry: bool = False  # True when a deferred signal re-enters at step 4


@dataclass(slots=True)
class Signal:
    trade: LeaderTrade
    outcome: SignalOutcome
    reason: ReasonCode  # the deciding step's reason (the last step's when accepted)
    steps: list[StepDecision] = field(default_factory=list)
    order_type: OrderType | None = None
    limit_price: float | None = None  # worst acceptable price for the order
    size_usd: float = 0.0
    defer_until_ms: int | None = None
    actionable_ms: int | None = None  # when the signal became actionable (after step 4)

    @property
    def accepted(self) -> bool:
        return self.outcome is SignalOutcome.ACCEPTED
