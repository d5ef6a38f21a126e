"""SPEC §C1 selection: every filter, and the tiers (12 primary, 25 secondary) by score."""

from __future__ import annotations

import dataclasses
import math

import pytest

from tailgate.domain.models import MS_PER_DAY, Tier, Trader, TraderStyle
from tailgate.domain.params import CopyParams
from tailgate.domain.selection import SelectionRejection, rejection_reason, select_traders

NOW = 1_700_000_000_000


def eligible(address: str = "0xA", **changes: object) -> Trader:
    """A trader that passes every filter, at the spec's boundaries where it matters."""
    base = Trader(
        address=address,
        account_value=50_000.0,
        roi_30d=0.05,
        trade_count=50,
        win_rate=0.60,
        style=TraderStyle.SWING,
        score=0.5,
    )
    return dataclasses.replace(base, **changes)


def reason(**changes: object) -> str | None:
    return rejection_reason(eligible(**changes), NOW)


def test_a_trader_at_every_boundary_is_eligible():
    assert reason() is None
    assert reason(win_rate=0.35) is None
    assert reason(win_rate=0.85) is None
    assert reason(style=TraderStyle.POSITION) is None


def test_fewer_than_50_trades_is_rejected():
    assert reason(trade_count=49) == SelectionRejection.TOO_FEW_TRADES == "TOO_FEW_TRADES"


def test_hft_style_is_rejected():
    assert reason(style=TraderStyle.HFT) == "HFT_STYLE"


def test_unclassified_style_is_rejected():
    assert reason(style=None) == "STYLE_UNKNOWN"


def test_account_under_50k_is_rejected():
    assert reason(account_value=49_999.99) == "ACCOUNT_TOO_SMALL"


@pytest.mark.parametrize("roi_30d", [0.0, -0.01, math.nan])
def test_30d_roi_not_positive_is_rejected(roi_30d: float):
    assert reason(roi_30d=roi_30d) == "ROI_30D_NOT_POSITIVE"


@pytest.mark.parametrize("win_rate", [0.349, 0.851, math.nan])
def test_win_rate_outside_0_35_to_0_85_is_rejected(win_rate: float):
    assert reason(win_rate=win_rate) == "WIN_RATE_OUT_OF_RANGE"


def test_blacklisted_trader_is_rejected_until_the_blacklist_ends():
    until = NOW + 14 * MS_PER_DAY
    assert reason(blacklisted_until_ms=until) == "BLACKLISTED"
    assert rejection_reason(eligible(blacklisted_until_ms=until), until) is None


def test_disqualified_trader_with_score_0_is_rejected():
    assert reason(score=0.0) == "DISQUALIFIED"


def test_first_failing_filter_is_recorded():
    assert reason(trade_count=1, style=TraderStyle.HFT, account_value=0.0) == "TOO_FEW_TRADES"


def test_filters_use_params():
    params = CopyParams(min_trades_required=10, min_account_value_usd=1_000.0)
    assert rejection_reason(eligible(trade_count=10, account_value=1_000.0), NOW, params) is None


def test_tiers_are_12_primary_and_25_secondary_by_score():
    traders = [eligible(f"0x{i:03d}", score=0.01 * (i + 1)) for i in range(50)]
    selection = select_traders(traders, NOW)
    assert len(selection.primary) == 12
    assert len(selection.secondary) == 25
    by_score = sorted(traders, key=lambda t: t.score, reverse=True)
    assert selection.primary == by_score[:12]
    assert selection.secondary == by_score[12:37]
    assert all(t.tier is Tier.PRIMARY for t in by_score[:12])
    assert all(t.tier is Tier.SECONDARY for t in by_score[12:37])
    assert all(t.tier is Tier.NONE for t in by_score[37:])
    assert selection.rejected == {}


def test_equal_scores_rank_by_address():
    traders = [eligible("0xC"), eligible("0xA"), eligible("0xB")]
    selection = select_traders(traders, NOW, CopyParams(primary_count=2, secondary_count=1))
    assert [t.address for t in selection.primary] == ["0xA", "0xB"]
    assert [t.address for t in selection.secondary] == ["0xC"]


def test_rejected_traders_are_listed_with_reasons_and_tier_none():
    hft = eligible("0xH", style=TraderStyle.HFT, tier=Tier.PRIMARY)
    poor = eligible("0xP", roi_30d=-0.1, tier=Tier.SECONDARY)
    good = eligible("0xG")
    selection = select_traders([hft, poor, good], NOW)
    assert selection.rejected == {"0xH": "HFT_STYLE", "0xP": "ROI_30D_NOT_POSITIVE"}
    assert selection.primary == [good]
    assert good.tier is Tier.PRIMARY
    assert hft.tier is Tier.NONE
    assert poor.tier is Tier.NONE


def test_a_trader_demoted_out_of_the_tiers_gets_tier_none():
    traders = [eligible(f"0x{i}", score=0.1 * (i + 1), tier=Tier.PRIMARY) for i in range(3)]
    select_traders(traders, NOW, CopyParams(primary_count=1, secondary_count=1))
    assert [t.tier for t in traders] == [Tier.NONE, Tier.SECONDARY, Tier.PRIMARY]
