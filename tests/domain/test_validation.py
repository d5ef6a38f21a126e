"""SPEC §C2: malformed fills are rejected at the boundary with a reason naming the field."""

from __future__ import annotations

import dataclasses
import math

import pytest

from tailgate.domain.models import LeaderFill
from tailgate.domain.reasons import ReasonCode
from tailgate.domain.validation import validate_leader_fill

KNOWN = frozenset({"BTC", "ETH", "SOL"})
GOOD = LeaderFill(
    leader="0xA",
    coin="ETH",
    price=3_000.0,
    size=1.5,
    is_buy=True,
    direction="Open Long",
    start_position=0.0,
    time_ms=1_700_000_000_000,
    order_id=1,
    fill_id="t1",
)


def check(**changes: object) -> tuple[ReasonCode, str] | None:
    return validate_leader_fill(dataclasses.replace(GOOD, **changes), KNOWN)


def test_a_well_formed_fill_is_valid():
    assert validate_leader_fill(GOOD, KNOWN) is None


@pytest.mark.parametrize("price", [math.nan, math.inf, -math.inf, 0.0, -1.0])
def test_nan_infinite_or_non_positive_price_is_invalid_price(price: float):
    result = check(price=price)
    assert result is not None
    reason, detail = result
    assert reason is ReasonCode.INVALID_PRICE
    assert "price" in detail


@pytest.mark.parametrize("size", [math.nan, math.inf, 0.0, -1.5])
def test_nan_infinite_zero_or_negative_size_is_invalid_size(size: float):
    result = check(size=size)
    assert result is not None
    assert result[0] is ReasonCode.INVALID_SIZE


def test_negative_size_detail_names_field_and_value():
    assert check(size=-1.5) == (ReasonCode.INVALID_SIZE, "size=-1.5")


@pytest.mark.parametrize("time_ms", [0, -1])
def test_zero_or_negative_time_is_invalid_time(time_ms: int):
    assert check(time_ms=time_ms) == (ReasonCode.INVALID_TIME, f"time_ms={time_ms}")


def test_unknown_coin_is_rejected():
    assert check(coin="DOGE") == (ReasonCode.UNKNOWN_COIN, "coin='DOGE'")


def test_nan_start_position_is_an_inconsistent_fill():
    result = check(start_position=math.nan)
    assert result is not None
    assert result[0] is ReasonCode.INCONSISTENT_FILL
    assert "start_position" in result[1]


def test_nan_closed_pnl_is_an_inconsistent_fill():
    result = check(closed_pnl=math.nan)
    assert result is not None
    assert result[0] is ReasonCode.INCONSISTENT_FILL


def test_first_failing_check_wins():
    result = check(price=math.nan, size=-1.0, coin="DOGE")
    assert result is not None
    assert result[0] is ReasonCode.INVALID_PRICE


def test_negative_start_position_is_a_short_not_an_error():
    assert check(start_position=-2.0) is None
