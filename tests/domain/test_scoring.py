"""SPEC §C1: trader style, per-trade returns, recency, consistency and the trader score."""

from __future__ import annotations

import dataclasses
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tailgate.domain.models import MS_PER_DAY, MS_PER_HOUR, Action, LeaderTrade, Side, Trader
from tailgate.domain.models import TraderStyle as Style
from tailgate.domain.params import CopyParams, ScoreWeights
from tailgate.domain.scoring import (
    WIN_RATE_TOO_HIGH,
    WIN_RATE_TOO_LOW,
    average_hold_hours,
    classify_trader_style,
    closed_trade_returns,
    compute_trader_score,
    consistency_score,
    recency_weight,
)

NOW = 1_700_000_000_000


def trade(
    action: Action,
    *,
    time_ms: int = NOW,
    side: Side = Side.LONG,
    coin: str = "ETH",
    price: float = 100.0,
    size: float = 1.0,
    closed_pnl: float = 0.0,
) -> LeaderTrade:
    return LeaderTrade(
        leader="0xA",
        coin=coin,
        side=side,
        action=action,
        size=size,
        price=price,
        time_ms=time_ms,
        order_id=time_ms,
        start_position=0.0,
        end_position=0.0,
        closed_pnl=closed_pnl,
    )


def round_trips(count: int, hold_hours: float, *, spacing_hours: float = 1.0) -> list[LeaderTrade]:
    """`count` Open→Close round trips in one coin, each held `hold_hours`."""
    out: list[LeaderTrade] = []
    for i in range(count):
        opened = NOW + int(i * spacing_hours * MS_PER_HOUR)
        out.append(trade(Action.OPEN, time_ms=opened))
        out.append(trade(Action.CLOSE, time_ms=opened + int(hold_hours * MS_PER_HOUR)))
    return out


def closes(wins: int, losses: int, *, time_ms: int = NOW) -> list[LeaderTrade]:
    """Closing trades at `time_ms`: wins +10 % on entry 100, losses −5 %."""
    return [trade(Action.CLOSE, time_ms=time_ms, price=110.0, closed_pnl=10.0)] * wins + [
        trade(Action.CLOSE, time_ms=time_ms, price=95.0, closed_pnl=-5.0)
    ] * losses


def good_trader(**changes: object) -> Trader:
    base = Trader(
        address="0xA",
        roi_7d=0.07,
        roi_30d=0.30,
        roi_90d=0.90,
        smart_money=True,
        max_drawdown=0.10,
        avg_leverage=3.0,
    )
    return dataclasses.replace(base, **changes)


# --- style (§C1) ------------------------------------------------------------------------------


def test_51_entries_in_10_days_held_3h_is_hft():
    assert classify_trader_style(round_trips(51, 3.0), days_active=10) is Style.HFT


def test_exactly_5_entries_per_day_is_not_hft():
    assert classify_trader_style(round_trips(50, 3.0), days_active=10) is Style.SWING


def test_average_hold_of_exactly_4h_is_not_hft():
    assert classify_trader_style(round_trips(51, 4.0), days_active=10) is Style.SWING


def test_hold_just_under_4h_at_over_5_per_day_is_hft():
    assert classify_trader_style(round_trips(51, 3.99), days_active=10) is Style.HFT


def test_exactly_0_3_entries_per_day_held_under_336h_is_swing():
    assert classify_trader_style(round_trips(3, 335.0), days_active=10) is Style.SWING


def test_average_hold_of_exactly_336h_is_position():
    assert classify_trader_style(round_trips(3, 336.0), days_active=10) is Style.POSITION


def test_under_0_3_entries_per_day_is_position():
    assert classify_trader_style(round_trips(29, 24.0), days_active=100) is Style.POSITION


def test_without_a_closed_round_trip_the_trader_is_position():
    opens = [trade(Action.OPEN, time_ms=NOW + i) for i in range(100)]
    assert classify_trader_style(opens, days_active=1) is Style.POSITION


def test_adds_and_reduces_do_not_count_as_entries():
    trades = round_trips(2, 3.0) + [trade(Action.ADD, time_ms=NOW + i) for i in range(100)]
    assert classify_trader_style(trades, days_active=10) is Style.POSITION  # 0.2/day


def test_zero_days_active_is_guarded():
    assert classify_trader_style(round_trips(1, 1.0), days_active=0) is Style.HFT


def test_style_thresholds_come_from_params():
    params = CopyParams(hft_min_trades_per_day=10.0)
    assert classify_trader_style(round_trips(51, 3.0), 10, params) is Style.SWING


# --- average hold -----------------------------------------------------------------------------


def test_average_hold_pairs_open_and_close_fifo():
    trades = [
        trade(Action.OPEN, time_ms=NOW),
        trade(Action.OPEN, time_ms=NOW + 1 * MS_PER_HOUR),
        trade(Action.CLOSE, time_ms=NOW + 2 * MS_PER_HOUR),  # pairs with the first: 2 h
        trade(Action.CLOSE, time_ms=NOW + 5 * MS_PER_HOUR),  # pairs with the second: 4 h
    ]
    assert average_hold_hours(trades) == pytest.approx(3.0)


def test_a_reduce_does_not_end_the_hold():
    trades = [
        trade(Action.OPEN, time_ms=NOW),
        trade(Action.REDUCE, time_ms=NOW + 1 * MS_PER_HOUR),
        trade(Action.CLOSE, time_ms=NOW + 6 * MS_PER_HOUR),
    ]
    assert average_hold_hours(trades) == pytest.approx(6.0)


def test_holds_pair_by_coin_and_side():
    trades = [
        trade(Action.OPEN, time_ms=NOW, coin="BTC"),
        trade(Action.OPEN, time_ms=NOW + MS_PER_HOUR, coin="ETH", side=Side.SHORT),
        trade(Action.CLOSE, time_ms=NOW + 3 * MS_PER_HOUR, coin="ETH", side=Side.SHORT),  # 2 h
        trade(Action.CLOSE, time_ms=NOW + 3 * MS_PER_HOUR, coin="ETH"),  # no long ETH open
        trade(Action.CLOSE, time_ms=NOW + 10 * MS_PER_HOUR, coin="BTC"),  # 10 h
    ]
    assert average_hold_hours(trades) == pytest.approx(6.0)


def test_unmatched_opens_are_ignored_and_no_round_trip_is_infinite():
    assert average_hold_hours([trade(Action.OPEN)]) == math.inf
    trades = [*round_trips(1, 2.0), trade(Action.OPEN, time_ms=NOW + 100 * MS_PER_HOUR)]
    assert average_hold_hours(trades) == pytest.approx(2.0)


# --- per-trade returns and recency ------------------------------------------------------------


def test_long_close_return_from_closed_pnl():
    # entry = 110 − 20 / 2 = 100; return = 20 / (100 × 2) = 10 %
    t = trade(Action.CLOSE, price=110.0, size=2.0, closed_pnl=20.0)
    assert closed_trade_returns([t]) == [pytest.approx(0.10)]


def test_short_close_return_from_closed_pnl():
    # entry = 90 + 20 / 2 = 100; return = 20 / (100 × 2) = 10 %
    t = trade(Action.CLOSE, side=Side.SHORT, price=90.0, size=2.0, closed_pnl=20.0)
    assert closed_trade_returns([t]) == [pytest.approx(0.10)]


def test_losing_reduce_has_a_negative_return():
    # entry = 95 + 10 / 2 = 100; return = −10 / 200 = −5 %
    t = trade(Action.REDUCE, price=95.0, size=2.0, closed_pnl=-10.0)
    assert closed_trade_returns([t]) == [pytest.approx(-0.05)]


def test_entries_and_non_positive_recovered_entries_are_skipped():
    trades = [
        trade(Action.OPEN),
        trade(Action.ADD),
        trade(Action.CLOSE, price=10.0, closed_pnl=100.0),  # entry would be −90
    ]
    assert closed_trade_returns(trades) == []


def test_a_14_day_old_trade_weighs_half():
    assert recency_weight(14 * MS_PER_DAY, 14) == pytest.approx(0.5)


def test_recency_weight_is_1_now_and_a_quarter_after_28_days():
    assert recency_weight(0, 14) == 1.0
    assert recency_weight(28 * MS_PER_DAY, 14) == pytest.approx(0.25)
    assert recency_weight(-MS_PER_DAY, 14) == 1.0


def test_recency_weight_needs_a_positive_half_life():
    with pytest.raises(ValueError):
        recency_weight(0, 0)


# --- consistency (§C1) ------------------------------------------------------------------------


def test_three_equal_weekly_rois_score_exactly_1():
    # 7 % a week: 7d 0.07, 30d 0.07 × 30/7 = 0.30, 90d 0.07 × 90/7 = 0.90
    assert consistency_score(0.07, 0.30, 0.90) == 1.0


def test_consistency_is_scale_free():
    assert consistency_score(0.01, 0.30 / 7, 0.90 / 7) == pytest.approx(1.0)
    assert consistency_score(0.4, 3 / 7, 9 / 7) == pytest.approx(
        consistency_score(0.04, 0.3 / 7, 0.9 / 7)
    )


def test_weekly_rois_of_10_10_40_percent_score_0_9():
    # weekly (0.1, 0.1, 0.4): mean 0.2, variance 0.02, cv² 0.5 → 0.7 + 0.3 / 1.5 = 0.9
    assert consistency_score(0.4, 0.1 * 30 / 7, 0.1 * 90 / 7) == pytest.approx(0.9)


def test_three_unequal_positive_rois_score_between_0_7_and_1_shrinking_with_dispersion():
    scores = [consistency_score(roi_7d, 0.30, 0.90) for roi_7d in (0.08, 0.15, 0.50, 5.0)]
    assert all(0.7 < s < 1.0 for s in scores)
    assert scores == sorted(scores, reverse=True)
    assert len(set(scores)) == len(scores)


@pytest.mark.parametrize(
    "rois", [(0.1, 0.2, -0.1), (0.1, -0.2, 0.3), (-0.1, 0.2, 0.3), (0.1, 0.2, 0.0)]
)
def test_exactly_two_positive_rois_score_0_5(rois: tuple[float, float, float]):
    assert consistency_score(*rois) == 0.5


@pytest.mark.parametrize(
    "rois", [(0.1, -0.2, -0.1), (-0.1, 0.2, 0.0), (0.0, 0.0, 0.3), (-0.1, -0.2, -0.3), (0, 0, 0)]
)
def test_one_or_no_positive_roi_scores_0_2(rois: tuple[float, float, float]):
    assert consistency_score(*rois) == 0.2


@pytest.mark.parametrize("roi", [5e-324, 1e-300, 1e300, math.inf])
def test_consistency_survives_extreme_positive_rois(roi: float):
    assert 0.7 <= consistency_score(roi, roi, roi) <= 1.0
    assert 0.7 <= consistency_score(roi, 0.3, 0.9) <= 1.0


def test_nan_roi_is_not_positive():
    assert consistency_score(math.nan, 0.2, 0.3) == 0.5


# --- trader score (§C1) -----------------------------------------------------------------------


def test_win_rate_of_0_851_is_disqualified_as_too_high():
    result = compute_trader_score(good_trader(), closes(851, 149), NOW)
    assert result.win_rate == pytest.approx(0.851)
    assert result.score == 0.0
    assert result.disqualified_reason == WIN_RATE_TOO_HIGH


def test_win_rate_of_exactly_0_85_is_not_disqualified():
    result = compute_trader_score(good_trader(), closes(17, 3), NOW)
    assert result.win_rate == 0.85
    assert result.disqualified_reason is None
    assert result.score > 0


def test_win_rate_of_0_349_is_disqualified_as_too_low():
    result = compute_trader_score(good_trader(), closes(349, 651), NOW)
    assert result.score == 0.0
    assert result.disqualified_reason == WIN_RATE_TOO_LOW


def test_win_rate_of_exactly_0_35_is_not_disqualified():
    result = compute_trader_score(good_trader(), closes(7, 13), NOW)
    assert result.win_rate == 0.35
    assert result.disqualified_reason is None
    assert result.score > 0


def test_no_closing_trade_means_win_rate_0_and_disqualified():
    result = compute_trader_score(good_trader(), [trade(Action.OPEN)], NOW)
    assert result.win_rate == 0.0
    assert result.disqualified_reason == WIN_RATE_TOO_LOW
    assert result.score == 0.0


def test_win_rate_is_recency_weighted_with_a_14_day_half_life():
    trades = closes(1, 0, time_ms=NOW) + closes(0, 1, time_ms=NOW - 14 * MS_PER_DAY)
    result = compute_trader_score(good_trader(), trades, NOW)
    assert result.win_rate == pytest.approx(1.0 / 1.5)


def test_trade_count_counts_every_trade_given():
    trades = [trade(Action.OPEN), *closes(3, 2)]
    assert compute_trader_score(good_trader(), trades, NOW).trade_count == 6


def test_score_is_the_weighted_sum_of_documented_components():
    # one +50 % and one −30 % close (entry 100): win rate 0.5, pseudo-Sharpe 0.1 / 0.4 = 0.25
    trades = [
        trade(Action.CLOSE, price=150.0, closed_pnl=50.0),
        trade(Action.CLOSE, price=70.0, closed_pnl=-30.0),
    ]
    trader = good_trader(
        roi_7d=-0.01, roi_30d=-0.02, roi_90d=0.5, max_drawdown=0.25, avg_leverage=10.5
    )
    result = compute_trader_score(trader, trades, NOW)
    assert result.components == pytest.approx(
        {
            "roi": 0.5,  # 0.5 / 1.0
            "sharpe": 0.5,  # 0.25 / 0.5
            "win_rate": 0.3,  # (0.5 − 0.35) / (0.85 − 0.35)
            "consistency": 0.2,  # one positive ROI
            "smart_money": 1.0,
            "risk_mgmt": 0.5,  # 0.5 × (1 − 0.25/0.5) + 0.5 × (1 − 9.5/19)
        }
    )
    # 0.25×0.5 + 0.20×0.5 + 0.15×0.3 + 0.20×0.2 + 0.10×1 + 0.10×0.5
    assert result.score == pytest.approx(0.46)


def test_roi_component_is_full_at_100_percent_and_zero_at_a_loss():
    def roi(r: float) -> float:
        return compute_trader_score(good_trader(roi_90d=r), closes(6, 4), NOW).components["roi"]

    assert roi(1.0) == 1.0
    assert roi(2.5) == 1.0
    assert roi(0.25) == pytest.approx(0.25)
    assert roi(-0.1) == 0.0


def test_sharpe_component_is_zero_with_one_return_or_identical_returns():
    one = compute_trader_score(good_trader(), closes(1, 0), NOW)
    same = compute_trader_score(good_trader(), closes(3, 0), NOW)
    assert one.components["sharpe"] == 0.0
    assert same.components["sharpe"] == 0.0


def test_sharpe_component_is_full_at_0_5_per_trade():
    # returns +10 % ×3 and −5 % ×2: mean 0.04, std 0.0735 → s ≈ 0.54 → full
    assert compute_trader_score(good_trader(), closes(3, 2), NOW).components["sharpe"] == 1.0


def test_risk_management_is_full_at_no_drawdown_and_1x_and_zero_at_50_percent_and_20x():
    def risk(dd: float, lev: float) -> float:
        trader = good_trader(max_drawdown=dd, avg_leverage=lev)
        return compute_trader_score(trader, closes(6, 4), NOW).components["risk_mgmt"]

    assert risk(0.0, 1.0) == 1.0
    assert risk(0.5, 20.0) == 0.0
    assert risk(0.8, 50.0) == 0.0
    assert risk(0.25, 1.0) == pytest.approx(0.75)
    assert risk(0.0, 10.5) == pytest.approx(0.75)


def test_smart_money_label_adds_its_weight():
    with_label = compute_trader_score(good_trader(smart_money=True), closes(6, 4), NOW)
    without = compute_trader_score(good_trader(smart_money=False), closes(6, 4), NOW)
    assert with_label.score - without.score == pytest.approx(0.10)


def test_weights_that_do_not_sum_to_1_are_rejected():
    params = CopyParams(trader_score_weights=ScoreWeights(roi=0.30))
    with pytest.raises(ValueError, match="sum to 1"):
        compute_trader_score(good_trader(), closes(6, 4), NOW, params)


def test_negative_weights_are_rejected():
    params = CopyParams(trader_score_weights=ScoreWeights(roi=0.45, smart_money=-0.10))
    with pytest.raises(ValueError, match=">= 0"):
        compute_trader_score(good_trader(), closes(6, 4), NOW, params)


# --- properties -------------------------------------------------------------------------------

finite = st.floats(min_value=-5.0, max_value=5.0, allow_nan=False)
unit = st.floats(min_value=0.0, max_value=1.0)
leverage = st.floats(min_value=0.0, max_value=60.0)
trade_mix = st.tuples(st.integers(0, 20), st.integers(0, 20))


def score(trader: Trader, mix: tuple[int, int] = (6, 4)) -> float:
    return compute_trader_score(trader, closes(*mix), NOW).score


@given(finite, finite, finite, st.booleans(), unit, leverage, trade_mix)
def test_score_is_always_in_0_1(r7, r30, r90, smart, dd, lev, mix):
    trader = good_trader(
        roi_7d=r7, roi_30d=r30, roi_90d=r90, smart_money=smart, max_drawdown=dd, avg_leverage=lev
    )
    result = compute_trader_score(trader, closes(*mix), NOW)
    assert 0.0 <= result.score <= 1.0
    assert all(0.0 <= v <= 1.0 for v in result.components.values())


@given(finite, finite, finite, st.floats(min_value=0.0, max_value=5.0))
def test_higher_roi_90d_never_lowers_the_score_when_consistency_is_by_sign(r7, r30, r90, bump):
    # When not all three ROIs are positive, consistency depends only on their signs, and a
    # higher 90-day ROI can only add a positive window (see compute_trader_score's docstring).
    r7 = -abs(r7)
    assert score(good_trader(roi_7d=r7, roi_30d=r30, roi_90d=r90 + bump)) >= score(
        good_trader(roi_7d=r7, roi_30d=r30, roi_90d=r90)
    )


@given(unit, unit, leverage)
def test_lower_drawdown_never_lowers_the_score(dd_a, dd_b, lev):
    low, high = sorted((dd_a, dd_b))
    assert score(good_trader(max_drawdown=low, avg_leverage=lev)) >= score(
        good_trader(max_drawdown=high, avg_leverage=lev)
    )


@given(leverage, leverage, unit)
def test_lower_leverage_never_lowers_the_score(lev_a, lev_b, dd):
    low, high = sorted((lev_a, lev_b))
    assert score(good_trader(avg_leverage=low, max_drawdown=dd)) >= score(
        good_trader(avg_leverage=high, max_drawdown=dd)
    )


@given(st.integers(7, 17), st.integers(0, 10))
def test_more_wins_never_lower_the_win_rate_component(wins, extra):
    def component(w: int) -> float:
        result = compute_trader_score(good_trader(), closes(w, 20 - w), NOW)
        return result.components["win_rate"]

    assert component(min(wins + extra, 17)) >= component(wins)


@given(finite, finite, finite)
def test_smart_money_never_lowers_the_score(r7, r30, r90):
    trader = good_trader(roi_7d=r7, roi_30d=r30, roi_90d=r90)
    assert score(dataclasses.replace(trader, smart_money=True)) >= score(
        dataclasses.replace(trader, smart_money=False)
    )
