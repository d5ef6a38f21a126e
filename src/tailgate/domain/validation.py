"""Reject malformed leader fills at the boundary, before they can reach the pipeline (SPEC §C2).

A NaN price that slips past here poisons every ratio downstream (NaN compares false, so a gate
written as `x > limit → reject` would pass it). Checking once, up front, with a reason code,
is cheaper than defending every comparison.
"""

from __future__ import annotations

import math
from collections.abc import Collection

from tailgate.domain.models import LeaderFill
from tailgate.domain.reasons import ReasonCode

__all__ = ["validate_leader_fill"]


def validate_leader_fill(
    fill: LeaderFill, known_coins: Collection[str]
) -> tuple[ReasonCode, str] | None:
    """None if the fill is usable, else (reason, detail naming the field and its value).

    Checks, first failure wins: price finite and > 0 (INVALID_PRICE); size finite and > 0
    (INVALID_SIZE); time_ms > 0 (INVALID_TIME); coin listed (UNKNOWN_COIN); start position and
    closed PnL finite (INCONSISTENT_FILL).
    """
    if not (math.isfinite(fill.price) and fill.price > 0):
        return ReasonCode.INVALID_PRICE, f"price={fill.price!r}"
    if not (math.isfinite(fill.size) and fill.size > 0):
        return ReasonCode.INVALID_SIZE, f"size={fill.size!r}"
    if not fill.time_ms > 0:  # also catches a NaN that arrived as a float
        return ReasonCode.INVALID_TIME, f"time_ms={fill.time_ms!r}"
    if fill.coin not in known_coins:
        return ReasonCode.UNKNOWN_COIN, f"coin={fill.coin!r}"
    if not math.isfinite(fill.start_position):
        return ReasonCode.INCONSISTENT_FILL, f"start_position={fill.start_position!r}"
    if not math.isfinite(fill.closed_pnl):
        return ReasonCode.INCONSISTENT_FILL, f"closed_pnl={fill.closed_pnl!r}"
    return None
