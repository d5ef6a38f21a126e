"""Leader style and score (SPEC §C1): who is worth copying, and who cannot be copied at all.

Style comes first because a copier that waits 15 minutes before entering cannot follow a
trader who is in and out within the hour. The score ranks the rest on return, risk-adjusted
return, hit rate, consistency across windows, the source's smart-money label and risk
discipline. Each component is normalized to [0, 1] by a documented monotone map, so a weight
in `CopyParams.trader_score_weights` means what it says.
"""

from __future__ import annotations

import math
from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from operator import attrgetter

from tailgate.domain.models import MS_PER_DAY, MS_PER_HOUR, Action, LeaderTrade, Trader, TraderStyle
from tailgate.domain.params import DEFAULT_PARAMS, CopyParams, ScoreWeights

__all__ = [
    "CONSISTENCY_ALL_POSITIVE_BASE",
    "CONSISTENCY_MAX_BONUS",
    "CONSISTENCY_OTHERWISE",
    "CONSISTENCY_TWO_POSITIVE",
    "DRAWDOWN_AT_ZERO_SCORE",
    "LEVERAGE_AT_FULL_SCORE",
    "LEVERAGE_AT_ZERO_SCORE",
    "MIN_DAYS_ACTIVE",
    "ROI_AT_FULL_SCORE",
    "SHARPE_AT_FULL_SCORE",
    "WIN_RATE_TOO_HIGH",
    "WIN_RATE_TOO_LOW",
    "TraderScore",
    "average_hold_hours",
    "classify_trader_style",
    "closed_trade_returns",
    "compute_trader_score",
    "consistency_score",
    "recency_weight",
]

# --- normalization anchors (each component maps linearly onto [0, 1] between its anchors) ---
ROI_AT_FULL_SCORE = 1.0
"""90-day ROI earning the full ROI component (+100 %); 0 or less earns nothing."""
SHARPE_AT_FULL_SCORE = 0.5
"""Per-trade pseudo-Sharpe (mean / std of trade returns) earning the full component."""
DRAWDOWN_AT_ZERO_SCORE = 0.5
"""Max drawdown (fraction of peak) at which the drawdown half of risk management is 0."""
LEVERAGE_AT_FULL_SCORE = 1.0
"""Average leverage at or below which the leverage half of risk management is full."""
LEVERAGE_AT_ZERO_SCORE = 20.0
"""Average leverage at or above which the leverage half of risk management is 0."""

# --- consistency_score (§C1) ---
CONSISTENCY_ALL_POSITIVE_BASE = 0.7
CONSISTENCY_MAX_BONUS = 0.3
CONSISTENCY_TWO_POSITIVE = 0.5
CONSISTENCY_OTHERWISE = 0.2
_DAYS_PER_WEEK = 7.0
_DAYS_30 = 30.0
_DAYS_90 = 90.0

MIN_DAYS_ACTIVE = 1e-9
"""Guard for trades/day: `days_active` ≤ 0 is read as this many days (a trader with entries
and no active time trades infinitely often — which is what makes them uncopyable)."""

_WEIGHT_SUM_TOLERANCE = 1e-9
_MIN_STD = 1e-12  # below this the returns are identical: a Sharpe ratio is meaningless

WIN_RATE_TOO_HIGH = "WIN_RATE_TOO_HIGH"
WIN_RATE_TOO_LOW = "WIN_RATE_TOO_LOW"

_ENTRY_ACTIONS = frozenset({Action.OPEN})
_CLOSING_ACTIONS = frozenset({Action.REDUCE, Action.CLOSE})


@dataclass(frozen=True, slots=True)
class TraderScore:
    """A trader's score with its parts, so a ranking can always be explained."""

    score: float  # in [0, 1]; 0 when disqualified
    components: dict[str, float] = field(default_factory=dict)  # each in [0, 1], pre-weight
    win_rate: float = 0.0  # recency-weighted, of closing trades
    trade_count: int = 0  # all trades given (entries, adds, reduces, closes)
    disqualified_reason: str | None = None


# --------------------------------------------------------------------------------------------
# style
# --------------------------------------------------------------------------------------------


def average_hold_hours(trades: Iterable[LeaderTrade]) -> float:
    """Average hours from an Open to the Close that ends it, `math.inf` if no round trip closed.

    Opens and Closes are paired first-in-first-out per (coin, side) in time order; a Reduce does
    not end a hold; an Open with no Close yet is ignored (it is still being held).
    """
    open_times: defaultdict[tuple[str, str], deque[int]] = defaultdict(deque)
    total_ms = 0
    closed = 0
    opening, closing = Action.OPEN, Action.CLOSE  # (locals: this runs over 90 days of trades)
    for trade in sorted(trades, key=_trade_time):
        action = trade.action
        if action is opening:
            open_times[(trade.coin, trade.side)].append(trade.time_ms)
        elif action is closing:
            opens = open_times.get((trade.coin, trade.side))
            if opens:
                total_ms += trade.time_ms - opens.popleft()
                closed += 1
    if closed == 0:
        return math.inf
    return total_ms / closed / MS_PER_HOUR


def classify_trader_style(
    trades: Iterable[LeaderTrade], days_active: float, params: CopyParams = DEFAULT_PARAMS
) -> TraderStyle:
    """HFT if > 5 entries/day and average hold < 4 h; SWING if ≥ 0.3/day and hold < 336 h;
    else POSITION.

    Trades/day counts entries (Opens) over `days_active` (floored at `MIN_DAYS_ACTIVE`). With
    no closed round trip the average hold is infinite, so such a trader is POSITION whatever
    their frequency: we have no evidence they are in and out quickly.
    """
    trades = list(trades)
    entries = sum(1 for t in trades if t.action in _ENTRY_ACTIONS)
    per_day = entries / max(days_active, MIN_DAYS_ACTIVE)
    hold_hours = average_hold_hours(trades)
    if per_day > params.hft_min_trades_per_day and hold_hours < params.hft_max_avg_hold_hours:
        return TraderStyle.HFT
    if per_day >= params.swing_min_trades_per_day and hold_hours < params.swing_max_avg_hold_hours:
        return TraderStyle.SWING
    return TraderStyle.POSITION


# --------------------------------------------------------------------------------------------
# per-trade returns and recency
# --------------------------------------------------------------------------------------------


_trade_time = attrgetter("time_ms")  # C-level: a leader's 90 days are sorted at every refresh


def _closing_returns(trades: Iterable[LeaderTrade]) -> list[tuple[int, float]]:
    """(time_ms, return) of each closing trade whose entry price can be recovered."""
    out: list[tuple[int, float]] = []
    for trade in sorted(trades, key=_trade_time):
        if trade.action not in _CLOSING_ACTIONS or not trade.size > 0:
            continue
        # long: pnl = (price − entry) × size; short: pnl = (entry − price) × size
        entry = trade.price - trade.side.sign * trade.closed_pnl / trade.size
        if not entry > 0:
            continue
        out.append((trade.time_ms, trade.closed_pnl / (entry * trade.size)))
    return out


def closed_trade_returns(trades: Iterable[LeaderTrade]) -> list[float]:
    """Return on capital of each Reduce / Close, in time order.

    The entry price is recovered from the realized PnL: long entry = price − pnl/size, short
    entry = price + pnl/size; return = pnl / (entry × size). Trades whose recovered entry is
    not positive are skipped (the PnL then includes something other than the price move).
    """
    return [r for _, r in _closing_returns(trades)]


def recency_weight(age_ms: float, halflife_days: float) -> float:
    """0.5 ** (age in days / half-life): a trade one half-life old counts half.

    A negative age (a trade stamped after `now`) counts as age 0, so no weight exceeds 1.
    """
    if not halflife_days > 0:
        raise ValueError(f"halflife_days must be > 0, got {halflife_days!r}")
    return 0.5 ** (max(age_ms, 0) / MS_PER_DAY / halflife_days)


# --------------------------------------------------------------------------------------------
# components
# --------------------------------------------------------------------------------------------


def _clip01(x: float) -> float:
    """Clip to [0, 1]; NaN maps to 0 (no evidence earns no score)."""
    if not x > 0:
        return 0.0
    return 1.0 if x > 1 else x


def consistency_score(roi_7d: float, roi_30d: float, roi_90d: float) -> float:
    """All three ROIs positive → 0.7 + bonus; exactly two positive → 0.5; otherwise → 0.2.

    bonus = 0.3 / (1 + cv²) over the weekly-normalized ROIs (roi_7d, roi_30d × 7/30,
    roi_90d × 7/90), where cv² = population variance / mean². The spec's "variance" is taken
    relative to the mean so the bonus does not depend on units (the same dispersion of returns
    scores the same for a 1 %/week and a 10 %/week trader). Equal weekly ROIs → exactly 1.0.
    Zero (and NaN) is not positive.
    """
    positives = (roi_7d > 0) + (roi_30d > 0) + (roi_90d > 0)
    if positives == 3:
        weekly = (
            roi_7d,
            roi_30d * (_DAYS_PER_WEEK / _DAYS_30),
            roi_90d * (_DAYS_PER_WEEK / _DAYS_90),
        )
        # cv² is scale-free: compute it on the ROIs divided by the largest, so neither a tiny
        # ROI (underflow to a zero mean) nor a huge one (overflow) can break the arithmetic.
        top = max(weekly)
        scaled = [w / top for w in weekly]
        mean = sum(scaled) / 3
        cv2 = sum((z - mean) ** 2 for z in scaled) / 3 / (mean * mean)
        if not math.isfinite(cv2):  # an infinite ROI: positive, but no measurable consistency
            return CONSISTENCY_ALL_POSITIVE_BASE
        # 0.7 + 0.3 / (1 + cv²), written so that cv² = 0 gives exactly 1.0
        total = CONSISTENCY_ALL_POSITIVE_BASE + CONSISTENCY_MAX_BONUS
        return total - CONSISTENCY_MAX_BONUS * cv2 / (1 + cv2)
    if positives == 2:
        return CONSISTENCY_TWO_POSITIVE
    return CONSISTENCY_OTHERWISE


def _weighted_sharpe(returns: Sequence[tuple[float, float]]) -> float:
    """Recency-weighted mean / weighted population std of (weight, return) pairs; 0 if < 2
    returns or no dispersion."""
    if len(returns) < 2:
        return 0.0
    total_w = sum(w for w, _ in returns)
    if not total_w > 0:
        return 0.0
    mean = sum(w * r for w, r in returns) / total_w
    variance = sum(w * (r - mean) ** 2 for w, r in returns) / total_w
    std = math.sqrt(variance)
    if not std > _MIN_STD:
        return 0.0
    return mean / std


def _risk_management(max_drawdown: float, avg_leverage: float) -> float:
    """Half drawdown, half leverage discipline; unknown (NaN) inputs count as the worst."""
    dd_penalty = 1.0 if math.isnan(max_drawdown) else _clip01(max_drawdown / DRAWDOWN_AT_ZERO_SCORE)
    lev_span = LEVERAGE_AT_ZERO_SCORE - LEVERAGE_AT_FULL_SCORE
    lev_penalty = (
        1.0
        if math.isnan(avg_leverage)
        else _clip01((avg_leverage - LEVERAGE_AT_FULL_SCORE) / lev_span)
    )
    return 0.5 * (1.0 - dd_penalty) + 0.5 * (1.0 - lev_penalty)


def _check_weights(weights: ScoreWeights) -> dict[str, float]:
    as_dict = weights.as_dict()
    negative = {k: v for k, v in as_dict.items() if not v >= 0}
    if negative:
        raise ValueError(f"trader_score_weights must be >= 0, got {negative}")
    total = sum(as_dict.values())
    if abs(total - 1.0) > _WEIGHT_SUM_TOLERANCE:
        raise ValueError(f"trader_score_weights must sum to 1, they sum to {total!r}")
    return as_dict


def compute_trader_score(
    trader: Trader,
    trades_90d: Iterable[LeaderTrade],
    now_ms: int,
    params: CopyParams = DEFAULT_PARAMS,
) -> TraderScore:
    """Weighted sum of six components, each normalized to [0, 1] (SPEC §C1).

    * roi = clip(roi_90d / 1.0): 0 at ≤ 0, full at +100 % over 90 days.
    * sharpe = clip(s / 0.5), s = recency-weighted mean / weighted std of per-trade returns
      (`closed_trade_returns`): full at 0.5 per trade; 0 with fewer than 2 returns or no
      dispersion (and at s ≤ 0).
    * win_rate = clip((wr − 0.35) / (0.85 − 0.35)) with the anchors `params.min_win_rate` and
      `params.max_win_rate`; wr is the recency-weighted share of closing trades (Reduce /
      Close) with closed PnL > 0.
    * consistency = `consistency_score(roi_7d, roi_30d, roi_90d)` (already in [0.2, 1]).
    * smart_money = 1 if the source labels the trader smart money, else 0.
    * risk_mgmt = 0.5 × (1 − clip(max_drawdown / 0.5)) + 0.5 × (1 − clip((avg_leverage − 1) /
      19)): full at no drawdown and 1x, 0 at ≥ 50 % drawdown and ≥ 20x.

    Recency: each trade weighs 0.5 ** (age days / 14) with age from `now_ms`. Trades are not
    filtered by age: the caller passes the 90-day history.

    Disqualified (score 0, `disqualified_reason` WIN_RATE_TOO_HIGH / WIN_RATE_TOO_LOW) when
    wr > max_win_rate or wr < min_win_rate; the bounds themselves are allowed. With no closing
    trade the win rate is 0, so the trader is disqualified as too low: no evidence, no copy.

    Every component is non-decreasing in its own input (roi_90d, per-trade Sharpe, win rate,
    smart money) or non-increasing (drawdown, leverage). The consistency component measures
    dispersion, so when all three ROIs are positive a higher roi_90d alone can lower it.

    Raises ValueError if the weights are negative or do not sum to 1 (± 1e-9), or if
    min_win_rate ≥ max_win_rate.
    """
    weights = _check_weights(params.trader_score_weights)
    wr_span = params.max_win_rate - params.min_win_rate
    if not wr_span > 0:
        raise ValueError(
            f"min_win_rate ({params.min_win_rate}) must be below max_win_rate "
            f"({params.max_win_rate})"
        )
    trades = list(trades_90d)
    halflife = params.recency_decay_halflife_days

    weight_sum = 0.0
    win_weight = 0.0
    for trade in trades:
        if trade.action in _CLOSING_ACTIONS:
            w = recency_weight(now_ms - trade.time_ms, halflife)
            weight_sum += w
            if trade.closed_pnl > 0:
                win_weight += w
    win_rate = win_weight / weight_sum if weight_sum > 0 else 0.0

    weighted_returns = [
        (recency_weight(now_ms - t, halflife), r) for t, r in _closing_returns(trades)
    ]
    components = {
        "roi": _clip01(trader.roi_90d / ROI_AT_FULL_SCORE),
        "sharpe": _clip01(_weighted_sharpe(weighted_returns) / SHARPE_AT_FULL_SCORE),
        "win_rate": _clip01((win_rate - params.min_win_rate) / wr_span),
        "consistency": consistency_score(trader.roi_7d, trader.roi_30d, trader.roi_90d),
        "smart_money": 1.0 if trader.smart_money else 0.0,
        "risk_mgmt": _risk_management(trader.max_drawdown, trader.avg_leverage),
    }

    disqualified: str | None = None
    if win_rate > params.max_win_rate:
        disqualified = WIN_RATE_TOO_HIGH
    elif win_rate < params.min_win_rate:
        disqualified = WIN_RATE_TOO_LOW

    if disqualified is not None:
        score = 0.0
    else:
        score = _clip01(sum(weights[name] * value for name, value in components.items()))
    return TraderScore(
        score=score,
        components=components,
        win_rate=win_rate,
        trade_count=len(trades),
        disqualified_reason=disqualified,
    )
