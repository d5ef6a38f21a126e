"""The nine-step signal pipeline (SPEC §C3): should we copy this leader trade, how, how much?

Each step appends a `StepDecision` with its reason code; the first step that does not pass ends
the evaluation and its reason becomes the signal's. Pure: everything outside the trade and the
trader comes in through `PipelineContext`, so backtest, paper and live decide identically.

Re-entry: a trade younger than COPY_DELAY_MINUTES is DEFERRED to `trade time + delay`; the
caller re-evaluates it then with `ctx.reentry=True`. `evaluate_trade` always runs from step 1 —
steps 1–3 depend only on the trade and the leader's account, so they answer as before — and
re-entry only skips step 4's deferral branch (the leader-still-open re-check runs).

Inclusive boundaries of the spec ("equal passes") are decided as if arithmetic were exact, up
to a relative `BOUNDARY_REL_TOL`: 0.102 vs 0.100 is a 2.0 % move even though the floats say
2.0000000000000018 %.

Judgment call, late branch of step 6 (≥ 10 min, high conviction): the order is MARKET with the
0.5 % cap around the current price. Step 5 already bounds the distance from the leader's price
(≤ 2 %), and an IOC limit at the leader's price ± 0.3 % would almost never fill 10 minutes on.
"""

from __future__ import annotations

import math

from tailgate.domain.models import (
    MS_PER_HOUR,
    MS_PER_MINUTE,
    Action,
    LeaderTrade,
    OrderType,
    Trader,
)
from tailgate.domain.params import DEFAULT_PARAMS, CopyParams
from tailgate.domain.reasons import ReasonCode
from tailgate.domain.signals import (
    STEP_NAMES,
    PipelineContext,
    Signal,
    SignalOutcome,
    StepDecision,
)
from tailgate.domain.sizing import compute_copy_size

__all__ = ["BOUNDARY_REL_TOL", "evaluate_trade"]

BOUNDARY_REL_TOL = 1e-9

_N1, _N2, _N3, _N4, _N5, _N6, _N7, _N8, _N9 = (STEP_NAMES[i] for i in range(1, 10))
_R = ReasonCode

# Passes that carry no numbers are the same immutable value every time: build them once
# (a frozen dataclass costs ~0.5 µs to construct, most of a call's budget at 100k calls/s).
_PASS_OPEN = StepDecision(1, _N1, True, _R.OPEN)
_PASS_VALUE = StepDecision(2, _N2, True, _R.TRADE_VALUE_OK)
_PASS_WEIGHT = StepDecision(3, _N3, True, _R.WEIGHT_OK)
_PASS_CONFIRMED = StepDecision(4, _N4, True, _R.CONFIRMED)
_PASS_SLIPPAGE = StepDecision(5, _N5, True, _R.SLIPPAGE_OK)
_PASS_TIMING = {
    reason: StepDecision(6, _N6, True, reason)
    for reason in (_R.TIMING_MARKET, _R.TIMING_LIMIT, _R.TIMING_LATE_HIGH_CONVICTION)
}
_PASS_CONSENSUS_DISABLED = StepDecision(7, _N7, True, _R.CONSENSUS_DISABLED)
_PASS_CONSENSUS_MET = StepDecision(7, _N7, True, _R.CONSENSUS_MET)
_REJECTED = SignalOutcome.REJECTED
_PERCENT = 100.0
_UP = 1.0 + BOUNDARY_REL_TOL
_DOWN = 1.0 - BOUNDARY_REL_TOL


def _end(
    trade: LeaderTrade,
    steps: list[StepDecision],
    decision: StepDecision,
    outcome: SignalOutcome = _REJECTED,
    actionable_ms: int | None = None,
) -> Signal:
    steps.append(decision)
    return Signal(
        trade=trade,
        outcome=outcome,
        reason=decision.reason,
        steps=steps,
        actionable_ms=actionable_ms,
    )


def evaluate_trade(
    trade: LeaderTrade,
    trader: Trader,
    ctx: PipelineContext,
    params: CopyParams = DEFAULT_PARAMS,
) -> Signal:
    """Run the nine steps of §C3 on one leader trade.

    Outcomes: ACCEPTED (order type, limit price and USD size set), REJECTED (the failing step's
    reason), DEFERRED (`defer_until_ms` set; re-enter with `ctx.reentry=True`) or EXIT (Reduce /
    Close: not an entry, for the leader-exit logic).
    """
    steps: list[StepDecision] = []
    append = steps.append

    # 1. action filter ---------------------------------------------------------------------
    action = trade.action
    if action is Action.OPEN:
        append(_PASS_OPEN)
    elif action is Action.ADD:
        open_ms = ctx.leader_position_open_ms
        if open_ms is None:
            return _end(
                trade,
                steps,
                StepDecision(1, _N1, False, _R.ADD_OPEN_UNKNOWN, "open time of position unknown"),
            )
        age_ms = trade.time_ms - open_ms
        max_age_ms = params.add_max_age_hours * MS_PER_HOUR
        detail = f"add {age_ms / MS_PER_HOUR:.3f} h after open, max {params.add_max_age_hours} h"
        if not age_ms <= max_age_ms:
            return _end(trade, steps, StepDecision(1, _N1, False, _R.ADD_TOO_OLD, detail))
        append(StepDecision(1, _N1, True, _R.ADD_WITHIN_WINDOW, detail))
    else:
        return _end(
            trade,
            steps,
            StepDecision(1, _N1, False, _R.EXIT_ACTION, action.value),
            SignalOutcome.EXIT,
        )

    # 2. asset minimum ---------------------------------------------------------------------
    value = trade.value_usd
    minimum = params.min_trade_value_for(trade.coin)
    if not value >= minimum * _DOWN:
        return _end(
            trade,
            steps,
            StepDecision(
                2, _N2, False, _R.BELOW_ASSET_MINIMUM, f"value {value:.2f} < min {minimum:.2f}"
            ),
        )
    append(_PASS_VALUE)

    # 3. weight ----------------------------------------------------------------------------
    account = ctx.leader_account_value
    if not account > 0:
        return _end(
            trade,
            steps,
            StepDecision(
                3, _N3, False, _R.POSITION_WEIGHT_LOW, f"leader account value {account!r}"
            ),
        )
    position_weight = trade.resulting_position_value_usd / account
    if not position_weight >= params.min_position_weight * _DOWN:
        return _end(
            trade,
            steps,
            StepDecision(
                3,
                _N3,
                False,
                _R.POSITION_WEIGHT_LOW,
                f"position weight {position_weight:.4f} < {params.min_position_weight}",
            ),
        )
    trade_weight = value / account
    if not trade_weight >= params.min_trade_weight * _DOWN:
        return _end(
            trade,
            steps,
            StepDecision(
                3,
                _N3,
                False,
                _R.TRADE_WEIGHT_LOW,
                f"trade weight {trade_weight:.4f} < {params.min_trade_weight}",
            ),
        )
    append(_PASS_WEIGHT)

    # 4. confirmation delay ----------------------------------------------------------------
    delay_ms = round(params.copy_delay_minutes * MS_PER_MINUTE)
    actionable_ms = trade.time_ms + delay_ms
    if not ctx.reentry and ctx.now_ms - trade.time_ms < delay_ms:
        append(StepDecision(4, _N4, False, _R.DEFERRED_FOR_CONFIRMATION, f"until {actionable_ms}"))
        return Signal(
            trade=trade,
            outcome=SignalOutcome.DEFERRED,
            reason=_R.DEFERRED_FOR_CONFIRMATION,
            steps=steps,
            defer_until_ms=actionable_ms,
        )
    if not ctx.leader_position_open:
        return _end(
            trade,
            steps,
            StepDecision(4, _N4, False, _R.LEADER_POSITION_CLOSED),
            actionable_ms=actionable_ms,
        )
    append(_PASS_CONFIRMED)

    # 5. slippage gate ---------------------------------------------------------------------
    current = ctx.current_price
    if current is None or not (current > 0 and math.isfinite(current)):
        return _end(
            trade,
            steps,
            StepDecision(5, _N5, False, _R.NO_PRICE, f"current price {current!r}"),
            actionable_ms=actionable_ms,
        )
    leader_price = trade.price
    move = abs(current - leader_price) / leader_price
    if not move <= params.max_price_slippage_percent / _PERCENT * _UP:
        return _end(
            trade,
            steps,
            StepDecision(
                5,
                _N5,
                False,
                _R.SLIPPAGE_EXCEEDED,
                f"moved {move * _PERCENT:.3f} % > {params.max_price_slippage_percent} %",
            ),
            actionable_ms=actionable_ms,
        )
    append(_PASS_SLIPPAGE)

    # 6. execution timing ------------------------------------------------------------------
    elapsed_ms = ctx.now_ms - actionable_ms
    if elapsed_ms < 0:
        elapsed_ms = 0
    sign = trade.side.sign  # buying into a long (+), selling into a short (−)
    if elapsed_ms < params.market_order_window_minutes * MS_PER_MINUTE:
        reason6 = _R.TIMING_MARKET
    elif elapsed_ms < params.limit_order_window_minutes * MS_PER_MINUTE:
        reason6 = _R.TIMING_LIMIT
        if not move < params.limit_max_price_move_percent / _PERCENT * _DOWN:
            return _end(
                trade,
                steps,
                StepDecision(
                    6,
                    _N6,
                    False,
                    _R.TIMING_LIMIT_PRICE_MOVED,
                    f"moved {move * _PERCENT:.3f} % >= {params.limit_max_price_move_percent} %",
                ),
                actionable_ms=actionable_ms,
            )
    elif (
        trader.score > params.late_min_trader_score * _UP
        and position_weight > params.late_min_position_weight * _UP
    ):
        reason6 = _R.TIMING_LATE_HIGH_CONVICTION
    else:
        return _end(
            trade,
            steps,
            StepDecision(
                6,
                _N6,
                False,
                _R.TIMING_TOO_LATE,
                f"{elapsed_ms / MS_PER_MINUTE:.2f} min late; score {trader.score:.3f}, "
                f"position weight {position_weight:.4f}",
            ),
            actionable_ms=actionable_ms,
        )
    if reason6 is _R.TIMING_LIMIT:
        order_type = OrderType.LIMIT
        limit_price = leader_price * (1.0 + sign * params.limit_max_price_move_percent / _PERCENT)
    else:
        order_type = OrderType.MARKET
        limit_price = current * (1.0 + sign * params.market_slippage_cap_percent / _PERCENT)
    append(_PASS_TIMING[reason6])

    # 7. consensus -------------------------------------------------------------------------
    if not params.consensus_enabled:
        append(_PASS_CONSENSUS_DISABLED)
    elif ctx.consensus_count >= params.consensus_min_traders:
        append(_PASS_CONSENSUS_MET)
    else:
        return _end(
            trade,
            steps,
            StepDecision(
                7,
                _N7,
                False,
                _R.CONSENSUS_NOT_MET,
                f"{ctx.consensus_count} < {params.consensus_min_traders} traders",
            ),
            actionable_ms=actionable_ms,
        )

    # 8. portfolio limits ------------------------------------------------------------------
    portfolio = ctx.portfolio
    coin = trade.coin
    # A leader's Add tops up the copy we hold of that same leader; any other overlap is refused
    # (one position per coin).
    topping_up = (
        trade.action is Action.ADD
        and coin in portfolio.open_coins
        and portfolio.holders.get(coin) == trade.leader
    )
    if coin in portfolio.open_coins and not topping_up:
        return _end(
            trade,
            steps,
            StepDecision(8, _N8, False, _R.ALREADY_COPIED, coin),
            actionable_ms=actionable_ms,
        )
    if not topping_up and portfolio.open_positions >= params.max_total_positions:
        return _end(
            trade,
            steps,
            StepDecision(
                8,
                _N8,
                False,
                _R.MAX_POSITIONS_REACHED,
                f"{portfolio.open_positions} open, max {params.max_total_positions}",
            ),
            actionable_ms=actionable_ms,
        )
    our_account = portfolio.account_value
    headroom_total = params.max_total_exposure * our_account - portfolio.total_exposure_usd
    headroom_token = params.max_exposure_per_token * our_account - portfolio.exposure_by_coin.get(
        coin, 0.0
    )
    headrooms = f"headroom total {headroom_total:.2f}, {coin} {headroom_token:.2f}"
    floor = params.min_copy_size_usd * _DOWN
    if not headroom_total >= floor:
        return _end(
            trade,
            steps,
            StepDecision(8, _N8, False, _R.TOTAL_EXPOSURE_LIMIT, headrooms),
            actionable_ms=actionable_ms,
        )
    if not headroom_token >= floor:
        return _end(
            trade,
            steps,
            StepDecision(8, _N8, False, _R.TOKEN_EXPOSURE_LIMIT, headrooms),
            actionable_ms=actionable_ms,
        )
    append(StepDecision(8, _N8, True, _R.PORTFOLIO_OK, headrooms))

    # 9. size ------------------------------------------------------------------------------
    size = compute_copy_size(
        trade.resulting_position_value_usd,
        account,
        our_account,
        trader.roi_7d,
        ctx.leader_leverage,
        params,
    )
    if topping_up:
        # the formula sizes our whole copy on the leader's resulting position: buy the difference
        held = portfolio.exposure_by_coin.get(coin, 0.0)
        if size - held < params.min_copy_size_usd * _DOWN:
            return _end(
                trade,
                steps,
                StepDecision(
                    9, _N9, False, _R.ADD_BELOW_MINIMUM, f"target {size:.2f}, held {held:.2f}"
                ),
                actionable_ms=actionable_ms,
            )
        size -= held
    headroom = headroom_total if headroom_total < headroom_token else headroom_token
    if size > headroom:
        reason9 = _R.SIZED_TO_HEADROOM
        detail9 = f"{headroom:.2f} (formula {size:.2f})"
        size = headroom
    else:
        reason9 = _R.SIZED
        detail9 = f"{size:.2f}"
    append(StepDecision(9, _N9, True, reason9, detail9))
    return Signal(
        trade=trade,
        outcome=SignalOutcome.ACCEPTED,
        reason=reason9,
        steps=steps,
        order_type=order_type,
        limit_price=limit_price,
        size_usd=size,
        actionable_ms=actionable_ms,
    )
