"""Which leaders we copy (primary), which we watch (secondary) — SPEC §C1 selection.

A leader must pass every filter; the first one failed is recorded, so "why is X not copied?"
always has a one-word answer. The survivors are ranked by score.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from tailgate.domain.models import Tier, Trader, TraderStyle
from tailgate.domain.params import DEFAULT_PARAMS, CopyParams

__all__ = ["Selection", "SelectionRejection", "rejection_reason", "select_traders"]


class SelectionRejection(StrEnum):
    """Why a leader was filtered out, in the order the filters run."""

    TOO_FEW_TRADES = "TOO_FEW_TRADES"
    STYLE_UNKNOWN = "STYLE_UNKNOWN"  # not classified yet: fail closed, it could be HFT
    HFT_STYLE = "HFT_STYLE"
    ACCOUNT_TOO_SMALL = "ACCOUNT_TOO_SMALL"
    ROI_30D_NOT_POSITIVE = "ROI_30D_NOT_POSITIVE"
    WIN_RATE_OUT_OF_RANGE = "WIN_RATE_OUT_OF_RANGE"
    BLACKLISTED = "BLACKLISTED"
    DISQUALIFIED = "DISQUALIFIED"  # score 0 (disqualified by scoring) or not scored


@dataclass(frozen=True, slots=True)
class Selection:
    primary: list[Trader] = field(default_factory=list)  # copied, best first
    secondary: list[Trader] = field(default_factory=list)  # watched, best first
    rejected: dict[str, str] = field(default_factory=dict)  # address → SelectionRejection


def rejection_reason(
    trader: Trader, now_ms: int, params: CopyParams = DEFAULT_PARAMS
) -> SelectionRejection | None:
    """The first selection filter `trader` fails, or None if eligible.

    Written as "not (x passes)" so that a NaN figure fails its filter instead of slipping by.
    """
    if not trader.trade_count >= params.min_trades_required:
        return SelectionRejection.TOO_FEW_TRADES
    if trader.style is None:
        return SelectionRejection.STYLE_UNKNOWN
    if trader.style is TraderStyle.HFT:
        return SelectionRejection.HFT_STYLE
    if not trader.account_value >= params.min_account_value_usd:
        return SelectionRejection.ACCOUNT_TOO_SMALL
    if not trader.roi_30d > 0:
        return SelectionRejection.ROI_30D_NOT_POSITIVE
    if not params.min_win_rate <= trader.win_rate <= params.max_win_rate:
        return SelectionRejection.WIN_RATE_OUT_OF_RANGE
    if trader.is_blacklisted(now_ms):
        return SelectionRejection.BLACKLISTED
    if not trader.score > 0:
        return SelectionRejection.DISQUALIFIED
    return None


def select_traders(
    traders: Sequence[Trader], now_ms: int, params: CopyParams = DEFAULT_PARAMS
) -> Selection:
    """Filter, rank by score (highest first, ties by address) and assign tiers.

    The top `primary_count` eligible leaders are PRIMARY, the next `secondary_count` SECONDARY.
    **Mutates** the given `Trader`s: each one's `tier` is set (Tier.NONE for everyone not in a
    tier, rejected or not), because `Trader` is the mutable record the daily job writes back
    to the `traders` table. The lists hold the same objects.
    """
    rejected: dict[str, str] = {}
    eligible: list[Trader] = []
    for trader in traders:
        reason = rejection_reason(trader, now_ms, params)
        if reason is None:
            eligible.append(trader)
        else:
            rejected[trader.address] = reason
        trader.tier = Tier.NONE

    eligible.sort(key=lambda t: (-t.score, t.address))
    n_primary = max(params.primary_count, 0)
    n_secondary = max(params.secondary_count, 0)
    primary = eligible[:n_primary]
    secondary = eligible[n_primary : n_primary + n_secondary]
    for trader in primary:
        trader.tier = Tier.PRIMARY
    for trader in secondary:
        trader.tier = Tier.SECONDARY
    return Selection(primary=primary, secondary=secondary, rejected=rejected)
