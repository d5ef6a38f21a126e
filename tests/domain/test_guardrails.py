import math

import pytest

from tailgate.domain.guardrails import GuardrailLimits, GuardrailState, check_guardrails
from tailgate.domain.reasons import ReasonCode

LIMITS = GuardrailLimits(
    max_order_usd=5_000.0,
    max_market_data_age_ms=120_000,
    daily_loss_cap_usd=1_000.0,
    daily_volume_cap_usd=20_000.0,
)


def state(**kw: object) -> GuardrailState:
    base: dict[str, object] = {"order_usd": 1_000.0, "market_data_age_ms": 0}
    base.update(kw)
    return GuardrailState(**base)  # type: ignore[arg-type]


def test_an_ordinary_entry_passes() -> None:
    assert check_guardrails(LIMITS, state()) is None


@pytest.mark.parametrize(
    ("kw", "reason"),
    [
        ({"kill_switch": True}, ReasonCode.KILL_SWITCH),
        ({"halted": True}, ReasonCode.ACCOUNT_HALTED),
        ({"market_data_age_ms": None}, ReasonCode.STALE_MARKET_DATA),
        ({"market_data_age_ms": 120_001}, ReasonCode.STALE_MARKET_DATA),
        ({"order_usd": 5_000.01}, ReasonCode.MAX_ORDER_SIZE),
        ({"order_usd": math.nan}, ReasonCode.MAX_ORDER_SIZE),
        ({"day_loss_usd": 1_000.0}, ReasonCode.DAILY_LOSS_CAP),
        ({"day_volume_usd": 19_000.01}, ReasonCode.DAILY_VOLUME_CAP),
    ],
)
def test_each_guardrail_blocks_with_its_reason(kw: dict[str, object], reason: ReasonCode) -> None:
    assert check_guardrails(LIMITS, state(**kw)) is reason


def test_limits_are_inclusive_where_the_order_exactly_fits() -> None:
    assert check_guardrails(LIMITS, state(order_usd=5_000.0, market_data_age_ms=120_000)) is None
    assert check_guardrails(LIMITS, state(day_volume_usd=19_000.0)) is None
    assert check_guardrails(LIMITS, state(day_loss_usd=999.99)) is None


def test_the_kill_switch_wins_over_every_other_reason() -> None:
    everything = state(kill_switch=True, halted=True, market_data_age_ms=None, order_usd=1e9)
    assert check_guardrails(LIMITS, everything) is ReasonCode.KILL_SWITCH


def test_live_orders_need_arming() -> None:
    live = GuardrailLimits(max_order_usd=5_000.0, max_market_data_age_ms=1, live=True)
    assert check_guardrails(live, state()) is ReasonCode.LIVE_NOT_ARMED
    armed = GuardrailLimits(
        max_order_usd=5_000.0, max_market_data_age_ms=1, live=True, live_armed=True
    )
    assert check_guardrails(armed, state()) is None


def test_no_caps_configured_means_no_cap() -> None:
    open_limits = GuardrailLimits(max_order_usd=1e12, max_market_data_age_ms=1)
    assert check_guardrails(open_limits, state(day_loss_usd=1e9, day_volume_usd=1e12)) is None
