"""Guardrails (SPEC §E4): the last checks before an entry's intent is written.

They stop new risk, never its removal: exits and protective stops are not subject to them.
A blocked entry is still written, as a SKIPPED intent with the guardrail's reason (§E3), so
nothing disappears silently. The checks run in a fixed order, so the reason is the first
rule broken, and they are pure: the engine gathers the state, this module judges it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tailgate.domain.reasons import ReasonCode

__all__ = ["GuardrailLimits", "GuardrailState", "check_guardrails"]


@dataclass(frozen=True, slots=True)
class GuardrailLimits:
    max_order_usd: float
    max_market_data_age_ms: int
    daily_loss_cap_usd: float | None = None
    daily_volume_cap_usd: float | None = None
    live: bool = False  # orders go to a real venue with real money
    live_armed: bool = False  # ... and the operator armed live trading (config + flag)


@dataclass(frozen=True, slots=True)
class GuardrailState:
    order_usd: float  # the entry's notional
    kill_switch: bool = False
    halted: bool = False  # reconciliation halted this account
    market_data_age_ms: int | None = None  # None: no market data seen yet
    day_loss_usd: float = 0.0  # equity at the UTC day's open minus equity now (> 0: a loss)
    day_volume_usd: float = 0.0  # notional we traded today before this order


def check_guardrails(limits: GuardrailLimits, state: GuardrailState) -> ReasonCode | None:
    """The first guardrail the entry breaks, or None when it may be written and sent."""
    if state.kill_switch:
        return ReasonCode.KILL_SWITCH
    if state.halted:
        return ReasonCode.ACCOUNT_HALTED
    if limits.live and not limits.live_armed:
        return ReasonCode.LIVE_NOT_ARMED
    age = state.market_data_age_ms
    if age is None or age > limits.max_market_data_age_ms:
        return ReasonCode.STALE_MARKET_DATA
    if not math.isfinite(state.order_usd) or state.order_usd > limits.max_order_usd:
        return ReasonCode.MAX_ORDER_SIZE
    if limits.daily_loss_cap_usd is not None and state.day_loss_usd >= limits.daily_loss_cap_usd:
        return ReasonCode.DAILY_LOSS_CAP
    if (
        limits.daily_volume_cap_usd is not None
        and state.day_volume_usd + state.order_usd > limits.daily_volume_cap_usd
    ):
        return ReasonCode.DAILY_VOLUME_CAP
    return None
