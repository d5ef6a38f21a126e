"""Pure trading logic: no I/O, every number of the spec lives here."""

from tailgate.domain.aggregation import aggregate_fills, classify_fill_action
from tailgate.domain.liquidations import Liquidation, find_liquidations
from tailgate.domain.models import (
    Action,
    LeaderboardEntry,
    LeaderFill,
    LeaderPosition,
    LeaderState,
    LeaderTrade,
    Level,
    Market,
    OrderBook,
    OrderType,
    PortfolioView,
    Side,
    Tier,
    Trader,
    TraderStyle,
)
from tailgate.domain.params import DEFAULT_PARAMS, CopyParams, ProfitTier, ScoreWeights
from tailgate.domain.pipeline import evaluate_trade
from tailgate.domain.precision import round_price, round_size
from tailgate.domain.reasons import ReasonCode
from tailgate.domain.scoring import (
    TraderScore,
    classify_trader_style,
    compute_trader_score,
    consistency_score,
)
from tailgate.domain.selection import Selection, SelectionRejection, select_traders
from tailgate.domain.signals import STEP_NAMES, PipelineContext, Signal, SignalOutcome, StepDecision
from tailgate.domain.sizing import compute_copy_size, get_leverage_from_positions
from tailgate.domain.stops import (
    CloseReason,
    LeaderCheck,
    check_trader_position,
    compute_stop_price,
    compute_trailing_stop_initial,
    profit_tier_due,
    stop_fill_price,
    stop_loss_triggered,
    time_stop_triggered,
    trailing_stop_triggered,
    update_trailing_stop,
)
from tailgate.domain.validation import validate_leader_fill

__all__ = [
    "DEFAULT_PARAMS",
    "STEP_NAMES",
    "Action",
    "CloseReason",
    "CopyParams",
    "LeaderCheck",
    "LeaderFill",
    "LeaderPosition",
    "LeaderState",
    "LeaderTrade",
    "LeaderboardEntry",
    "Level",
    "Liquidation",
    "Market",
    "OrderBook",
    "OrderType",
    "PipelineContext",
    "PortfolioView",
    "ProfitTier",
    "ReasonCode",
    "ScoreWeights",
    "Selection",
    "SelectionRejection",
    "Side",
    "Signal",
    "SignalOutcome",
    "StepDecision",
    "Tier",
    "Trader",
    "TraderScore",
    "TraderStyle",
    "aggregate_fills",
    "check_trader_position",
    "classify_fill_action",
    "classify_trader_style",
    "compute_copy_size",
    "compute_stop_price",
    "compute_trader_score",
    "compute_trailing_stop_initial",
    "consistency_score",
    "evaluate_trade",
    "find_liquidations",
    "get_leverage_from_positions",
    "profit_tier_due",
    "round_price",
    "round_size",
    "select_traders",
    "stop_fill_price",
    "stop_loss_triggered",
    "time_stop_triggered",
    "trailing_stop_triggered",
    "update_trailing_stop",
    "validate_leader_fill",
]
