"""Pure trading logic: no I/O, every number of the spec lives here."""

from tailgate.domain.aggregation import aggregate_fills, classify_fill_action
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
from tailgate.domain.validation import validate_leader_fill

__all__ = [
    "DEFAULT_PARAMS",
    "STEP_NAMES",
    "Action",
    "CopyParams",
    "LeaderFill",
    "LeaderPosition",
    "LeaderState",
    "LeaderTrade",
    "LeaderboardEntry",
    "Level",
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
    "classify_fill_action",
    "classify_trader_style",
    "compute_copy_size",
    "compute_trader_score",
    "consistency_score",
    "evaluate_trade",
    "get_leverage_from_positions",
    "round_price",
    "round_size",
    "select_traders",
    "validate_leader_fill",
]
