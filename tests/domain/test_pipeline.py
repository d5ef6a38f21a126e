"""SPEC §C3: the nine steps, each passing and failing, at the spec's boundaries.

The base scenario passes every step: the leader opens 10 ETH long at 3,000 (value 30,000 ≥ the
25,000 ETH minimum) on a 200,000 account (weight 0.15); we see it exactly 15 minutes later at
the same price, with an empty 100,000 book. Each test changes one thing.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from tailgate.domain.models import (
    MS_PER_HOUR,
    MS_PER_MINUTE,
    Action,
    LeaderTrade,
    OrderType,
    PortfolioView,
    Side,
    Trader,
)
from tailgate.domain.params import CopyParams
from tailgate.domain.pipeline import evaluate_trade
from tailgate.domain.reasons import ReasonCode as R
from tailgate.domain.signals import STEP_NAMES, PipelineContext, Signal, SignalOutcome

T0 = 1_700_000_000_000
DELAY = 15 * MS_PER_MINUTE  # COPY_DELAY_MINUTES
SEEN = T0 + DELAY  # the moment the base trade becomes actionable

BASE_TRADE = LeaderTrade(
    leader="0xA",
    coin="ETH",
    side=Side.LONG,
    action=Action.OPEN,
    size=10.0,
    price=3_000.0,
    time_ms=T0,
    order_id=1,
    start_position=0.0,
    end_position=10.0,
)
BASE_TRADER = Trader(address="0xA", roi_7d=0.15, score=0.6)
EMPTY_BOOK = PortfolioView(
    account_value=100_000.0, open_positions=0, total_exposure_usd=0.0, exposure_by_coin={}
)
BASE_CTX = PipelineContext(
    now_ms=SEEN,
    current_price=3_000.0,
    leader_account_value=200_000.0,
    leader_position_open_ms=T0,
    leader_position_open=True,
    leader_leverage=1.0,
    portfolio=EMPTY_BOOK,
)


def short(**changes: Any) -> dict[str, Any]:
    """Trade changes for the same trade on the short side."""
    return {"side": Side.SHORT, "end_position": -10.0, **changes}


def run(
    trade: dict[str, Any] | None = None,
    trader: dict[str, Any] | None = None,
    ctx: dict[str, Any] | None = None,
    book: dict[str, Any] | None = None,
    params: CopyParams | None = None,
) -> Signal:
    t = dataclasses.replace(BASE_TRADE, **(trade or {}))
    tr = dataclasses.replace(BASE_TRADER, **(trader or {}))
    c = dataclasses.replace(BASE_CTX, **(ctx or {}))
    if book:
        c = dataclasses.replace(c, portfolio=dataclasses.replace(EMPTY_BOOK, **book))
    return evaluate_trade(t, tr, c) if params is None else evaluate_trade(t, tr, c, params)


def stops_at(signal: Signal, step: int, reason: R, outcome=SignalOutcome.REJECTED) -> bool:
    """The signal ended at `step` with `reason`, after steps 1 … step−1 all passed."""
    assert [d.step for d in signal.steps] == list(range(1, step + 1))
    assert all(d.passed for d in signal.steps[:-1])
    last = signal.steps[-1]
    assert (last.step, last.name, last.passed, last.reason) == (
        step,
        STEP_NAMES[step],
        False,
        reason,
    )
    assert (signal.outcome, signal.reason) == (outcome, reason)
    assert signal.size_usd == 0.0
    return True


def passes(signal: Signal, step: int, reason: R) -> bool:
    decision = signal.steps[step - 1]
    assert (decision.step, decision.name, decision.passed) == (step, STEP_NAMES[step], True)
    assert decision.reason == reason
    return True


# --- the base scenario ------------------------------------------------------------------------


def test_base_trade_passes_all_nine_steps():
    signal = run()
    assert signal.outcome is SignalOutcome.ACCEPTED
    assert signal.accepted
    assert [d.step for d in signal.steps] == list(range(1, 10))
    assert all(d.passed for d in signal.steps)
    assert [d.name for d in signal.steps] == [STEP_NAMES[i] for i in range(1, 10)]
    # (30,000 / 200,000) × 0.5 × 100,000 × 1.0 (7d ROI 15 %) × 1.0 (1x)
    assert signal.size_usd == pytest.approx(7_500.0)
    assert signal.reason is R.SIZED
    assert signal.actionable_ms == SEEN


# --- step 1: action filter --------------------------------------------------------------------


def test_step1_open_passes():
    assert passes(run(), 1, R.OPEN)


def add(open_age_ms: int | None) -> Signal:
    trade = {"action": Action.ADD, "start_position": 5.0, "end_position": 10.0, "size": 10.0}
    open_ms = None if open_age_ms is None else T0 - open_age_ms
    return run(trade=trade, ctx={"leader_position_open_ms": open_ms})


def test_step1_add_exactly_2h_after_the_open_passes():
    assert passes(add(2 * MS_PER_HOUR), 1, R.ADD_WITHIN_WINDOW)
    assert add(2 * MS_PER_HOUR).accepted


def test_step1_add_more_than_2h_after_the_open_is_too_old():
    assert stops_at(add(2 * MS_PER_HOUR + 1), 1, R.ADD_TOO_OLD)


def test_step1_add_without_a_known_open_time_is_rejected():
    assert stops_at(add(None), 1, R.ADD_OPEN_UNKNOWN)


@pytest.mark.parametrize("action", [Action.REDUCE, Action.CLOSE])
def test_step1_reduce_and_close_are_exits_not_entries(action: Action):
    signal = run(trade={"action": action, "start_position": 10.0, "end_position": 0.0})
    assert stops_at(signal, 1, R.EXIT_ACTION, SignalOutcome.EXIT)


def test_step1_add_window_comes_from_params():
    params = CopyParams(add_max_age_hours=3.0)
    trade = {"action": Action.ADD, "start_position": 5.0, "end_position": 10.0}
    signal = run(trade=trade, ctx={"leader_position_open_ms": T0 - 3 * MS_PER_HOUR}, params=params)
    assert passes(signal, 1, R.ADD_WITHIN_WINDOW)


# --- step 2: asset minimum --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("coin", "minimum"),
    [("BTC", 50_000.0), ("ETH", 25_000.0), ("SOL", 10_000.0), ("DOGE", 5_000.0)],
)
def test_step2_trade_value_at_the_asset_minimum_passes_and_below_is_rejected(
    coin: str, minimum: float
):
    # a 100-coin open at price minimum/100; the leader's account keeps the weight at 0.15
    def at(value: float) -> Signal:
        trade = {"coin": coin, "size": 100.0, "end_position": 100.0, "price": value / 100}
        ctx = {"current_price": value / 100, "leader_account_value": value / 0.15}
        return run(trade=trade, ctx=ctx)

    assert passes(at(minimum), 2, R.TRADE_VALUE_OK)
    assert stops_at(at(minimum - 1.0), 2, R.BELOW_ASSET_MINIMUM)


# --- step 3: weight ---------------------------------------------------------------------------


def test_step3_position_weight_of_exactly_10_percent_passes():
    # resulting position 30,000 of a 300,000 account
    assert passes(run(ctx={"leader_account_value": 300_000.0}), 3, R.WEIGHT_OK)


def test_step3_position_weight_under_10_percent_is_rejected():
    signal = run(ctx={"leader_account_value": 300_001.0})
    assert stops_at(signal, 3, R.POSITION_WEIGHT_LOW)


def add_of_10_to_90_eth(leader_account: float) -> Signal:
    """An Add of 10 ETH (30,000) to 90 ETH: resulting position 300,000."""
    trade = {"action": Action.ADD, "start_position": 90.0, "end_position": 100.0}
    return run(trade=trade, ctx={"leader_account_value": leader_account})


def test_step3_trade_weight_of_exactly_5_percent_passes():
    assert passes(add_of_10_to_90_eth(600_000.0), 3, R.WEIGHT_OK)


def test_step3_trade_weight_under_5_percent_is_rejected():
    assert stops_at(add_of_10_to_90_eth(1_000_000.0), 3, R.TRADE_WEIGHT_LOW)


@pytest.mark.parametrize("account", [0.0, -5.0])
def test_step3_non_positive_leader_account_is_rejected(account: float):
    signal = run(ctx={"leader_account_value": account})
    assert stops_at(signal, 3, R.POSITION_WEIGHT_LOW)
    assert "account" in signal.steps[-1].detail


# --- step 4: confirmation delay ---------------------------------------------------------------


def test_step4_trade_exactly_15_minutes_old_is_confirmed():
    assert passes(run(ctx={"now_ms": T0 + DELAY}), 4, R.CONFIRMED)


def test_step4_trade_younger_than_15_minutes_is_deferred_to_trade_time_plus_15():
    signal = run(ctx={"now_ms": T0 + DELAY - 1})
    assert stops_at(signal, 4, R.DEFERRED_FOR_CONFIRMATION, SignalOutcome.DEFERRED)
    assert signal.defer_until_ms == T0 + 15 * 60_000


def test_step4_fresh_trade_is_deferred_even_if_the_leader_position_looks_closed():
    signal = run(ctx={"now_ms": T0 + 1, "leader_position_open": False})
    assert signal.outcome is SignalOutcome.DEFERRED


def test_step4_reentry_skips_the_deferral_and_rechecks_the_position():
    signal = run(ctx={"now_ms": T0 + DELAY - 1, "reentry": True})
    assert passes(signal, 4, R.CONFIRMED)
    assert signal.accepted


def test_step4_leader_position_closed_at_reentry_is_rejected():
    signal = run(ctx={"now_ms": T0 + DELAY, "reentry": True, "leader_position_open": False})
    assert stops_at(signal, 4, R.LEADER_POSITION_CLOSED)


def test_step4_old_trade_with_closed_leader_position_is_rejected_without_deferral():
    signal = run(ctx={"now_ms": T0 + DELAY + 1, "leader_position_open": False})
    assert stops_at(signal, 4, R.LEADER_POSITION_CLOSED)


def test_step4_delay_comes_from_params():
    signal = run(ctx={"now_ms": T0 + 5 * MS_PER_MINUTE}, params=CopyParams(copy_delay_minutes=5))
    assert passes(signal, 4, R.CONFIRMED)
    assert signal.actionable_ms == T0 + 5 * MS_PER_MINUTE


# --- step 5: slippage gate --------------------------------------------------------------------


@pytest.mark.parametrize("price", [3_060.0, 2_940.0])  # exactly ±2.0 % of 3,000
def test_step5_price_move_of_exactly_2_percent_passes(price: float):
    assert passes(run(ctx={"current_price": price}), 5, R.SLIPPAGE_OK)


def test_step5_exactly_2_percent_passes_on_decimal_prices():
    trade = {"price": 0.1, "size": 300_000.0, "end_position": 300_000.0}
    assert passes(run(trade=trade, ctx={"current_price": 0.102}), 5, R.SLIPPAGE_OK)


@pytest.mark.parametrize("price", [3_060.3, 2_939.7])  # ±2.01 %
def test_step5_price_move_over_2_percent_is_rejected(price: float):
    assert stops_at(run(ctx={"current_price": price}), 5, R.SLIPPAGE_EXCEEDED)


@pytest.mark.parametrize("price", [None, float("nan"), float("inf"), 0.0, -1.0])
def test_step5_missing_or_invalid_current_price_is_rejected(price: float | None):
    assert stops_at(run(ctx={"current_price": price}), 5, R.NO_PRICE)


# --- step 6: execution timing -----------------------------------------------------------------


def at_elapsed(elapsed_ms: int, *, price: float = 3_000.0, **trade: Any) -> Signal:
    return run(trade=trade, ctx={"now_ms": SEEN + elapsed_ms, "current_price": price})


def test_step6_under_2_minutes_is_a_market_order_capped_0_5_percent_above_for_a_long():
    signal = at_elapsed(2 * MS_PER_MINUTE - 1, price=3_010.0)
    assert passes(signal, 6, R.TIMING_MARKET)
    assert signal.order_type is OrderType.MARKET
    assert signal.limit_price == pytest.approx(3_010.0 * 1.005)


def test_step6_market_order_for_a_short_is_capped_0_5_percent_below():
    signal = at_elapsed(0, price=3_010.0, **short())
    assert passes(signal, 6, R.TIMING_MARKET)
    assert signal.order_type is OrderType.MARKET
    assert signal.limit_price == pytest.approx(3_010.0 * 0.995)


def test_step6_exactly_2_minutes_is_a_limit_order_at_leader_price_plus_0_3_percent_for_a_long():
    signal = at_elapsed(2 * MS_PER_MINUTE, price=3_008.0)  # moved 0.267 %
    assert passes(signal, 6, R.TIMING_LIMIT)
    assert signal.order_type is OrderType.LIMIT
    assert signal.limit_price == pytest.approx(3_009.0)  # 3,000 × 1.003


def test_step6_limit_order_for_a_short_is_0_3_percent_below_the_leader_price():
    signal = at_elapsed(5 * MS_PER_MINUTE, price=2_992.0, **short())
    assert passes(signal, 6, R.TIMING_LIMIT)
    assert signal.order_type is OrderType.LIMIT
    assert signal.limit_price == pytest.approx(2_991.0)  # 3,000 × 0.997


def test_step6_just_under_10_minutes_is_still_the_limit_branch():
    assert passes(at_elapsed(10 * MS_PER_MINUTE - 1), 6, R.TIMING_LIMIT)


@pytest.mark.parametrize("price", [3_009.0, 2_991.0])  # moved exactly 0.3 %
def test_step6_limit_branch_rejects_a_move_of_0_3_percent(price: float):
    signal = at_elapsed(2 * MS_PER_MINUTE, price=price)
    assert stops_at(signal, 6, R.TIMING_LIMIT_PRICE_MOVED)


def test_step6_exactly_10_minutes_is_late_and_skipped_for_an_ordinary_trader():
    assert stops_at(at_elapsed(10 * MS_PER_MINUTE), 6, R.TIMING_TOO_LATE)


def late(score: float, leader_account: float, side: Side = Side.LONG) -> Signal:
    trade = short() if side is Side.SHORT else {}
    ctx = {"now_ms": SEEN + 10 * MS_PER_MINUTE, "leader_account_value": leader_account}
    return run(trade=trade, trader={"score": score}, ctx=ctx)


def test_step6_late_trade_passes_for_score_over_0_8_and_weight_over_0_25():
    # position 30,000 of a 100,000 account: weight 0.30
    signal = late(0.81, 100_000.0)
    assert passes(signal, 6, R.TIMING_LATE_HIGH_CONVICTION)
    assert signal.order_type is OrderType.MARKET
    assert signal.limit_price == pytest.approx(3_000.0 * 1.005)
    assert late(0.81, 100_000.0, Side.SHORT).limit_price == pytest.approx(3_000.0 * 0.995)


def test_step6_late_trade_passes_at_position_weight_0_26():
    assert passes(late(0.81, 115_000.0), 6, R.TIMING_LATE_HIGH_CONVICTION)  # 30,000 / 115,000


def test_step6_late_trade_with_score_of_exactly_0_8_is_too_late():
    assert stops_at(late(0.8, 100_000.0), 6, R.TIMING_TOO_LATE)


def test_step6_late_trade_with_position_weight_of_exactly_0_25_is_too_late():
    assert stops_at(late(0.9, 120_000.0), 6, R.TIMING_TOO_LATE)  # 30,000 / 120,000


def test_step6_timing_is_measured_from_actionable_not_from_the_trade():
    # re-entry 1 minute after the 15-minute mark: still the market window
    signal = run(ctx={"now_ms": T0 + DELAY + MS_PER_MINUTE, "reentry": True})
    assert passes(signal, 6, R.TIMING_MARKET)


# --- step 7: consensus ------------------------------------------------------------------------


def test_step7_consensus_disabled_by_default_passes():
    assert passes(run(), 7, R.CONSENSUS_DISABLED)


def test_step7_consensus_of_2_traders_is_met():
    signal = run(ctx={"consensus_count": 2}, params=CopyParams(consensus_enabled=True))
    assert passes(signal, 7, R.CONSENSUS_MET)


def test_step7_consensus_of_1_trader_is_not_met():
    signal = run(ctx={"consensus_count": 1}, params=CopyParams(consensus_enabled=True))
    assert stops_at(signal, 7, R.CONSENSUS_NOT_MET)


# --- step 8: portfolio limits -----------------------------------------------------------------


def test_step8_empty_book_passes_and_records_the_headrooms():
    signal = run()
    assert passes(signal, 8, R.PORTFOLIO_OK)
    detail = signal.steps[7].detail
    assert "50000.00" in detail  # 0.50 × 100,000
    assert "15000.00" in detail  # 0.15 × 100,000


def test_step8_a_coin_we_already_hold_is_rejected():
    signal = run(book={"open_positions": 1, "open_coins": frozenset({"ETH"})})
    assert stops_at(signal, 8, R.ALREADY_COPIED)


def _topping_up(held_usd: float, holder: str = "0xA", open_positions: int = 1) -> Signal:
    """The leader adds 5 → 10 ETH (resulting 30,000 of 200,000 → target copy 7,500)."""
    book = {
        "open_positions": open_positions,
        "open_coins": frozenset({"ETH"}),
        "holders": {"ETH": holder},
        "exposure_by_coin": {"ETH": held_usd},
        "total_exposure_usd": held_usd,
    }
    trade = {"action": Action.ADD, "start_position": 5.0, "end_position": 10.0, "size": 5.0 * 2}
    return run(trade=trade, book=book)


def test_step9_an_add_by_the_leader_we_copied_buys_the_difference_to_the_target():
    signal = _topping_up(2_000.0)
    assert signal.accepted
    assert signal.size_usd == pytest.approx(7_500.0 - 2_000.0)


def test_step8_an_add_is_not_a_new_position_so_the_position_count_does_not_block_it():
    assert _topping_up(2_000.0, open_positions=5).accepted


def test_step9_an_add_when_our_copy_already_matches_the_target_is_rejected():
    signal = _topping_up(7_450.0)  # 50 short of 7,500: below the $100 minimum
    assert stops_at(signal, 9, R.ADD_BELOW_MINIMUM)


def test_step8_an_add_by_another_leader_to_a_coin_we_hold_is_already_copied():
    assert stops_at(_topping_up(2_000.0, holder="0xB"), 8, R.ALREADY_COPIED)


def test_step8_4_open_positions_pass_and_5_are_the_maximum():
    assert passes(run(book={"open_positions": 4}), 8, R.PORTFOLIO_OK)
    assert stops_at(run(book={"open_positions": 5}), 8, R.MAX_POSITIONS_REACHED)


def test_step8_total_exposure_leaving_100_of_headroom_passes():
    assert passes(run(book={"total_exposure_usd": 49_900.0}), 8, R.PORTFOLIO_OK)


def test_step8_total_exposure_near_50_percent_is_rejected():
    signal = run(book={"total_exposure_usd": 49_901.0})  # headroom 99 < 100
    assert stops_at(signal, 8, R.TOTAL_EXPOSURE_LIMIT)


def test_step8_token_exposure_near_15_percent_is_rejected():
    book = {"total_exposure_usd": 14_901.0, "exposure_by_coin": {"ETH": 14_901.0}}
    assert stops_at(run(book=book), 8, R.TOKEN_EXPOSURE_LIMIT)


# --- step 9: size -----------------------------------------------------------------------------


def test_step9_size_is_compute_copy_size():
    # 7d ROI 5 % (× 0.75) and 3x leverage (× 0.8): 7,500 × 0.75 × 0.8 = 4,500
    signal = run(trader={"roi_7d": 0.05}, ctx={"leader_leverage": 3.0})
    assert passes(signal, 9, R.SIZED)
    assert signal.size_usd == pytest.approx(4_500.0)


def test_step9_size_is_clipped_to_the_total_headroom():
    signal = run(book={"total_exposure_usd": 45_000.0})  # headroom 5,000 < 7,500
    assert passes(signal, 9, R.SIZED_TO_HEADROOM)
    assert signal.reason is R.SIZED_TO_HEADROOM
    assert signal.size_usd == pytest.approx(5_000.0)


def test_step9_size_is_clipped_to_the_token_headroom():
    book = {"total_exposure_usd": 10_000.0, "exposure_by_coin": {"ETH": 12_000.0}}
    signal = run(book=book)  # ETH headroom 15,000 − 12,000 = 3,000
    assert passes(signal, 9, R.SIZED_TO_HEADROOM)
    assert signal.size_usd == pytest.approx(3_000.0)


def test_step9_size_of_a_short_is_positive_usd():
    signal = run(trade=short())
    assert signal.accepted
    assert signal.size_usd == pytest.approx(7_500.0)


# --- every reason code of the pipeline is reachable -------------------------------------------

PIPELINE_REASONS = {
    R.OPEN, R.ADD_WITHIN_WINDOW, R.ADD_TOO_OLD, R.ADD_OPEN_UNKNOWN, R.EXIT_ACTION,
    R.TRADE_VALUE_OK, R.BELOW_ASSET_MINIMUM,
    R.WEIGHT_OK, R.POSITION_WEIGHT_LOW, R.TRADE_WEIGHT_LOW,
    R.DEFERRED_FOR_CONFIRMATION, R.CONFIRMED, R.LEADER_POSITION_CLOSED,
    R.SLIPPAGE_OK, R.SLIPPAGE_EXCEEDED, R.NO_PRICE,
    R.TIMING_MARKET, R.TIMING_LIMIT, R.TIMING_LIMIT_PRICE_MOVED,
    R.TIMING_LATE_HIGH_CONVICTION, R.TIMING_TOO_LATE,
    R.CONSENSUS_DISABLED, R.CONSENSUS_MET, R.CONSENSUS_NOT_MET,
    R.PORTFOLIO_OK, R.MAX_POSITIONS_REACHED, R.TOTAL_EXPOSURE_LIMIT, R.TOKEN_EXPOSURE_LIMIT,
    R.ALREADY_COPIED,
    R.SIZED, R.SIZED_TO_HEADROOM, R.ADD_BELOW_MINIMUM,
}  # fmt: skip


def test_every_pipeline_reason_code_is_produced_by_some_scenario():
    consensus = CopyParams(consensus_enabled=True)
    signals = [
        run(),
        add(0),
        add(3 * MS_PER_HOUR),
        add(None),
        run(trade={"action": Action.CLOSE, "end_position": 0.0}),
        run(trade={"size": 1.0, "end_position": 1.0}),
        run(ctx={"leader_account_value": 1_000_000.0}),
        add_of_10_to_90_eth(1_000_000.0),
        run(ctx={"now_ms": T0}),
        run(ctx={"leader_position_open": False}),
        run(ctx={"current_price": 3_100.0}),
        run(ctx={"current_price": None}),
        at_elapsed(5 * MS_PER_MINUTE),
        at_elapsed(5 * MS_PER_MINUTE, price=3_020.0),
        late(0.9, 100_000.0),
        late(0.5, 100_000.0),
        run(ctx={"consensus_count": 3}, params=consensus),
        run(ctx={"consensus_count": 0}, params=consensus),
        run(book={"open_positions": 5}),
        run(book={"total_exposure_usd": 50_000.0}),
        run(book={"exposure_by_coin": {"ETH": 15_000.0}}),
        run(book={"open_coins": frozenset({"ETH"})}),
        run(book={"total_exposure_usd": 45_000.0}),
        _topping_up(7_450.0),
    ]
    produced = {d.reason for s in signals for d in s.steps}
    assert produced == PIPELINE_REASONS
